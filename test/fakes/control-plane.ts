import { startFake } from './fake-server.js';

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
    const body = {
      queue_id: decodeURIComponent(m[1]),
      name: 'test queue',
      ...(behaviour.extra ?? {}),
      settings: behaviour.settings,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return {
    url: fake.url,
    requests,
    set: (b) => (behaviour = b),
    close: fake.close,
  };
}

/** A loopback URL nothing listens on (kept here for the tests that import it from this file). */
export { refusedUrl } from './fake-server.js';
