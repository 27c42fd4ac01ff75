/**
 * Google API error bodies (`{"error":{"code":429,"message":...,"status":"RESOURCE_EXHAUSTED","details":[...]}}`)
 * -> GatewayError. An invalid API key is a 400 INVALID_ARGUMENT at Google: it becomes a 401 here; a
 * RetryInfo `retryDelay` becomes Retry-After when the header is missing.
 */
import type { GatewayError } from '../../errors.js';
import { mapHttpError } from '../errors.js';
import type { JsonObject, UpstreamErrorInfo } from '../types.js';

const CONTEXT = /exceeds the maximum number of tokens|input token count .* exceeds|context window|too many tokens/i;
const POLICY = /safety|blocked|prohibited content/i;

/** Map a Google error answer (HTTP or an error object inside a stream). */
export function mapGoogleError(label: string, err: UpstreamErrorInfo): GatewayError {
  let e: JsonObject | undefined;
  try {
    const parsed = JSON.parse(err.body) as unknown;
    // streamGenerateContent without alt=sse wraps answers in a list
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    e = (first as JsonObject | undefined)?.error as JsonObject | undefined;
  } catch {
    e = undefined;
  }
  if (!e || typeof e !== 'object') return mapHttpError(label, err);
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(e).slice(0, 500);
  const status = typeof e.status === 'string' ? e.status : undefined;
  const details = Array.isArray(e.details) ? (e.details as JsonObject[]) : [];
  let http = err.status;
  if (details.some((d) => d?.reason === 'API_KEY_INVALID') || /API key not valid|API key expired/i.test(message))
    http = 401;
  else if (status === 'UNAUTHENTICATED') http = 401;
  else if (status === 'PERMISSION_DENIED') http = 403;
  else if (status === 'RESOURCE_EXHAUSTED') http = 429;
  else if (status === 'UNAVAILABLE') http = 503;
  else if (status === 'DEADLINE_EXCEEDED') http = 504;
  let code: string | null = status ?? String(err.status);
  if (http === 400 && CONTEXT.test(message)) code = 'context_length_exceeded';
  else if (http === 400 && POLICY.test(message)) code = 'content_policy_violation';
  const headers = { ...err.headers };
  if (!headers['retry-after']) {
    const delay = details.find((d) => typeof d?.retryDelay === 'string')?.retryDelay as string | undefined;
    const secs = delay ? Number.parseFloat(delay) : NaN;
    if (Number.isFinite(secs)) headers['retry-after'] = String(Math.ceil(secs));
  }
  return mapHttpError(label, { status: http, headers, body: '' }, { message, code });
}
