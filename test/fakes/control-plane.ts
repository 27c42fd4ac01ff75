import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake answers `GET /api/v1/worker-queues/{id}/config`. */
export type Behaviour =
  | { kind: 'ok'; settings: Record<string, unknown>; extra?: Record<string, unknown> }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'hang' };

export interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
}

export interface FakeControlPlane {
  url: string;
  requests: SeenRequest[];
  /** change the answer for the next requests */
  set(b: Behaviour): void;
  close(): Promise<void>;
}

/** A control plane on 127.0.0.1 that serves queue settings, error statuses, or never answers. */
export async function startFakeControlPlane(initial: Behaviour): Promise<FakeControlPlane> {
  let behaviour = initial;
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    const m = /^\/api\/v1\/worker-queues\/([^/]+)\/config$/.exec(req.url ?? '');
    if (behaviour.kind === 'hang') return; // keep the socket open; close() destroys it
    if (!m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"not found"}');
      return;
    }
    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.status, { 'content-type': 'application/json' }).end(behaviour.body ?? '{"detail":"error"}');
      return;
    }
    const body = { queue_id: decodeURIComponent(m[1]), name: 'test queue', ...(behaviour.extra ?? {}), settings: behaviour.settings };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    set: (b) => (behaviour = b),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL nothing listens on (a server is opened and closed to find a free port). */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
