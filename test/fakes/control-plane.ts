import { createHash } from 'node:crypto';
import { startFake } from './fake-server.js';

/**
 * How the fake answers `GET /api/v1/worker-queues/{id}/config`. Like the real control plane, an `ok` answer
 * carries `config_version` (a SHA-256 of the queue's settings: it moves whenever they change) and
 * `config_updated_at`, unless `unversioned`; `recommended_package_version` only when given.
 */
export type Behaviour =
  | {
      kind: 'ok';
      settings: Record<string, unknown>;
      extra?: Record<string, unknown>;
      unversioned?: boolean;
      recommendedPackageVersion?: string;
    }
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
  /** change the queue's settings mid-test (an `ok` answer from now on; its config version moves with them) */
  setSettings(settings: Record<string, unknown>): void;
  /** requests for the queue's config so far */
  configRequests(): number;
  close(): Promise<void>;
}

/** A control plane on 127.0.0.1 that serves queue settings, error statuses, or never answers. */
export async function startFakeControlPlane(initial: Behaviour): Promise<FakeControlPlane> {
  let behaviour = initial;
  let updatedAt = new Date().toISOString();
  const requests: SeenRequest[] = [];
  const fake = await startFake((req, res) => {
    requests.push({ method: req.method, path: req.path, authorization: req.headers.authorization });
    const m = /^\/api\/v1\/worker-queues\/([^/]+)\/config$/.exec(req.path);
    if (behaviour.kind === 'hang') return; // keep the socket open; close() destroys it
    if (!m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"not found"}');
      return;
    }
    if (behaviour.kind === 'status') {
      res
        .writeHead(behaviour.status, { 'content-type': 'application/json' })
        .end(behaviour.body ?? '{"detail":"error"}');
      return;
    }
    const versioned = !behaviour.unversioned && {
      config_version: createHash('sha256').update(JSON.stringify(behaviour.settings)).digest('hex'),
      config_updated_at: updatedAt,
    };
    const body = {
      queue_id: decodeURIComponent(m[1]),
      name: 'test queue',
      ...versioned,
      ...(behaviour.recommendedPackageVersion
        ? { recommended_package_version: behaviour.recommendedPackageVersion }
        : {}),
      ...(behaviour.extra ?? {}),
      settings: behaviour.settings,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return {
    url: fake.url,
    requests,
    set: (b) => {
      behaviour = b;
      updatedAt = new Date().toISOString();
    },
    setSettings: (settings) => {
      behaviour = { ...(behaviour.kind === 'ok' ? behaviour : {}), kind: 'ok', settings };
      updatedAt = new Date().toISOString();
    },
    configRequests: () => requests.filter((r) => /\/worker-queues\/[^/]+\/config$/.test(r.path)).length,
    close: fake.close,
  };
}

/** A loopback URL nothing listens on (kept here for the tests that import it from this file). */
export { refusedUrl } from './fake-server.js';
