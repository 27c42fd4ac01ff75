import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneTimeoutMs, fetchQueueConfig } from '../../src/control-plane/client.js';
import { type FakeControlPlane, startFakeControlPlane } from '../fakes/control-plane.js';

let cp: FakeControlPlane;
beforeAll(async () => {
  cp = await startFakeControlPlane({ kind: 'ok', settings: {} });
});
afterAll(() => cp.close());

const get = (queueId = 'q-1') =>
  fetchQueueConfig({ controlPlaneUrl: `${cp.url}/`, apiKey: 'key-1', queueId, timeoutMs: 1000 });

describe('control-plane client', () => {
  it('reads the settings it uses and flags values of the wrong type', async () => {
    cp.set({
      kind: 'ok',
      settings: {
        enable_local_litellm_proxy: 'yes',
        litellm_config: '{"model_list": []}',
        local_proxy_timeout_seconds: '30',
        local_proxy_max_retries: -1,
      },
    });
    const r = await get();
    expect(r).toEqual({
      ok: true,
      settings: { litellmConfig: '{"model_list": []}', localProxyTimeoutSeconds: 30 },
      warnings: [
        'queue settings: enable_local_litellm_proxy: expected true or false, found "yes"; ignored',
        'queue settings: local_proxy_max_retries: expected a non-negative number, found -1; ignored',
      ],
      version: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(cp.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/api/v1/worker-queues/q-1/config',
      authorization: 'Bearer key-1',
    });
  });

  it('a body that is not JSON is a failure, not a crash', async () => {
    cp.set({ kind: 'status', status: 200, body: '<html>login</html>' });
    const r = await get();
    expect(r).toMatchObject({ ok: false, status: 200 });
    expect(r.ok ? '' : r.reason).toMatch(/^the control plane answered with something that is not JSON at /);
  });

  it('403 is a rejected key', async () => {
    cp.set({ kind: 'status', status: 403 });
    const r = await get();
    expect(r.ok ? '' : r.reason).toMatch(/^the control plane rejected the API key \(HTTP 403\)/);
  });

  it('KUBIYA_CONTROL_PLANE_TIMEOUT sets the bound in seconds; junk keeps the default', () => {
    expect(controlPlaneTimeoutMs({ KUBIYA_CONTROL_PLANE_TIMEOUT: '0.25' })).toBe(250);
    expect(controlPlaneTimeoutMs({ KUBIYA_CONTROL_PLANE_TIMEOUT: 'soon' })).toBe(5000);
    expect(controlPlaneTimeoutMs({})).toBe(5000);
  });
});

describe('control-plane client, connections', () => {
  it('a connection reset under the request is tried once more on a new connection; twice is a failure', async () => {
    const http = await import('node:http');
    let resets = 1;
    let seen = 0;
    const server = http.createServer((req, res) => {
      seen++;
      if (resets-- > 0) {
        req.socket.destroy(); // as a server restarting, or closing a kept-alive socket, does
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"settings": {}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const once = await fetchQueueConfig({ controlPlaneUrl: url, apiKey: 'k', queueId: 'q', timeoutMs: 2000 });
      expect(once.ok).toBe(true);
      expect(seen).toBe(2);
      resets = 2;
      const twice = await fetchQueueConfig({ controlPlaneUrl: url, apiKey: 'k', queueId: 'q', timeoutMs: 2000 });
      expect(twice).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/could not be reached .*(ECONNRESET|SOCKET)/),
      });
      expect(seen).toBe(4);
    } finally {
      server.close();
    }
  });
});
