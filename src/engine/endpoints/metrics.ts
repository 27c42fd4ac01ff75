import type { IncomingHttpHeaders } from 'node:http';
import type { ClusterLink } from '../cluster/worker-link.js';
import type { EngineContext } from '../context.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { PrometheusSink } from '../observability/prometheus.js';

/** GET /metrics: Prometheus text; behind the engine's authenticator only with `require_auth_for_metrics_endpoint`. */
export async function sendMetrics(
  sink: PrometheusSink,
  w: ResponseWriter,
  headers: IncomingHttpHeaders,
  cluster?: ClusterLink,
): Promise<void> {
  if (sink.requireAuth) {
    const pending = w.authenticate(headers);
    if (pending) await pending;
  }
  // one worker of several: every worker's series, summed (gauges as each declares: sum, max or min)
  const body = cluster ? await sink.aggregate(await cluster.gather('metrics')) : await sink.scrape();
  const h = w.headers;
  h['content-type'] = sink.contentType;
  h['content-length'] = Buffer.byteLength(body);
  w.res.writeHead(200, h);
  w.res.end(body);
}

/** GET /health/backlog: HTTP requests in flight on this engine, this one included (LiteLLM's shape). */
export function sendBacklog(ctx: EngineContext, w: ResponseWriter): void {
  sendJson(w.res, 200, JSON.stringify({ in_flight_requests: ctx.inflight }), w.headers);
}
