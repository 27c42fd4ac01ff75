import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from '../wire.js';

/**
 * LiteLLM's per-request control headers, as the body fields they stand for (the body wins when it sets
 * both): `x-litellm-timeout` (seconds) is `timeout`; `x-litellm-num-retries` / `x-litellm-max-retries` is
 * `num_retries` (capped like the body's: see router/retry.ts). Read only when present.
 */
export function applyControlHeaders(body: JsonObject, h: IncomingHttpHeaders): void {
  const t = h['x-litellm-timeout'];
  if (typeof t === 'string' && body.timeout === undefined) {
    const n = Number(t);
    if (Number.isFinite(n) && n > 0) body.timeout = n;
  }
  const r = h['x-litellm-num-retries'] ?? h['x-litellm-max-retries'];
  if (typeof r === 'string' && body.num_retries === undefined) {
    const n = Number(r);
    if (Number.isInteger(n) && n >= 0) body.num_retries = n;
  }
}
