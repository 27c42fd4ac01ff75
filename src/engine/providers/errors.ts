import { classOfStatus, type ErrorClass, GatewayError } from '../errors.js';
import type { UpstreamErrorInfo } from './types.js';

const CONTEXT_WINDOW = new RegExp(
  'context[_ ]length[_ ]exceeded|maximum context length|context window|too many tokens|' +
    'prompt is too long|input is too long|reduce the length',
  'i',
);
const CONTENT_POLICY =
  /content[_ ]policy|content management policy|content_filter|safety system|responsibleaipolicyviolation/i;

/** What a provider said about an error, pulled out of its body. */
export interface ProviderErrorDetail {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/**
 * Pull message/type/code/param out of the error bodies providers send: OpenAI's `{error:{...}}`,
 * `{error:"text"}` (Ollama, vLLM), `{message}` / `{detail}` (FastAPI and friends), or plain text.
 */
export function extractErrorDetail(body: string): ProviderErrorDetail {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const text = body.trim();
    return { message: text ? text.slice(0, 500) : undefined };
  }
  if (!json || typeof json !== 'object') return { message: String(json) };
  const o = json as Record<string, unknown>;
  const e = o.error;
  if (typeof e === 'string') return { message: e };
  if (e && typeof e === 'object') {
    const eo = e as Record<string, unknown>;
    return {
      message: typeof eo.message === 'string' ? eo.message : JSON.stringify(eo).slice(0, 500),
      type: typeof eo.type === 'string' ? eo.type : undefined,
      code: eo.code == null ? null : String(eo.code),
      param: typeof eo.param === 'string' ? eo.param : null,
    };
  }
  if (typeof o.message === 'string')
    return { message: o.message, type: typeof o.type === 'string' ? o.type : undefined };
  if (typeof o.detail === 'string') return { message: o.detail };
  return { message: JSON.stringify(o).slice(0, 500) };
}

/**
 * The common mapping of an upstream error answer to a GatewayError: status-derived class, refined by
 * the provider's code and message (context window, content policy), Retry-After kept for 429/503.
 * Adapters call it with their own label and, if their bodies differ, their own detail extractor.
 */
export function mapHttpError(
  label: string,
  err: UpstreamErrorInfo,
  detail: ProviderErrorDetail = extractErrorDetail(err.body),
): GatewayError {
  let status = err.status;
  let errorClass: ErrorClass = classOfStatus(status);
  const msg = detail.message ?? `HTTP ${status}`;
  let code = detail.code ?? String(status);
  if (status === 400 || status === 413 || status === 422) {
    if (code === 'context_length_exceeded' || CONTEXT_WINDOW.test(msg)) {
      errorClass = 'context_window';
      code = 'context_length_exceeded';
      status = 400;
    } else if (code === 'content_policy_violation' || code === 'content_filter' || CONTENT_POLICY.test(msg)) {
      errorClass = 'content_policy';
      code = 'content_policy_violation';
      status = 400;
    } else if (status === 422) status = 400;
  }
  if (status === 529) status = 503;
  // a timeout is 408 `timeout_error`, as LiteLLM answers (its Timeout exception), whoever timed out
  if (status === 504) status = 408;
  // statuses a client cannot act on as such become 502 (the upstream misbehaved)
  if (status < 400 || (status > 504 && status !== 529)) status = 502;
  const retry = err.headers['retry-after'];
  return new GatewayError(status, {
    message: `${label} error (HTTP ${err.status}): ${msg}`,
    type: errorClass === 'context_window' || errorClass === 'content_policy' ? 'invalid_request_error' : undefined,
    code,
    param: detail.param ?? null,
    errorClass,
    retryAfter: Array.isArray(retry) ? retry[0] : retry,
    provider: label,
  });
}

/** 502 for an upstream that answered 2xx with something that is not what the wire format promises. */
export function badUpstreamAnswer(label: string, what: string): GatewayError {
  return new GatewayError(502, {
    message: `${label} returned ${what}`,
    errorClass: 'connection',
    code: 'bad_upstream_response',
    provider: label,
  });
}
