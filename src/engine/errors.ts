/**
 * Error classes the router decides on (retry, fallback, cooldown). Every failure a request can meet
 * becomes one GatewayError carrying one of these, so no caller has to parse messages or statuses.
 */
export const ERROR_CLASSES = [
  'bad_request', // 400: the request itself is wrong (never retried)
  'context_window', // 400 context_length_exceeded (context_window_fallbacks)
  'content_policy', // 400 content_policy_violation (content_policy_fallbacks)
  'auth', // 401
  'permission', // 403
  'not_found', // 404
  'too_large', // 413
  'rate_limit', // 429 (keeps Retry-After)
  'upstream', // 500 / unexpected upstream answer
  'connection', // 502: refused, reset, broken stream, non-JSON answer
  'overloaded', // 503 / 529
  'timeout', // 408 (LiteLLM's Timeout; an upstream 504 too)
  'internal', // a bug in the engine
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** OpenAI's `type` field for each class (what the openai SDK and LiteLLM clients look at). */
const TYPE_OF: Record<ErrorClass, string> = {
  bad_request: 'invalid_request_error',
  context_window: 'invalid_request_error',
  content_policy: 'invalid_request_error',
  auth: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  upstream: 'api_error',
  connection: 'api_connection_error',
  overloaded: 'service_unavailable_error',
  timeout: 'timeout_error',
  internal: 'internal_server_error',
};

export interface GatewayErrorInit {
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
  /** the router's view of the failure; derived from the status when omitted */
  errorClass?: ErrorClass;
  /** seconds, from the upstream's Retry-After (429/503) */
  retryAfter?: string;
  /** which provider answered, for logs */
  provider?: string;
  /** extra response headers (the proxy's own refusals: `x-ratelimit-*` of a key's limits, `rate_limit_type`) */
  headers?: Readonly<Record<string, string>>;
}

/** The one engine error: an HTTP status plus the OpenAI error body `{error:{message,type,param,code}}`. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly errorClass: ErrorClass;
  readonly retryAfter?: string;
  readonly provider?: string;
  readonly headers?: Readonly<Record<string, string>>;
  constructor(status: number, init: GatewayErrorInit) {
    super(init.message);
    this.name = 'GatewayError';
    this.status = status;
    this.errorClass = init.errorClass ?? classOfStatus(status);
    this.type = init.type ?? TYPE_OF[this.errorClass];
    this.code = init.code === undefined ? String(status) : init.code;
    this.param = init.param ?? null;
    this.retryAfter = init.retryAfter;
    this.provider = init.provider;
    if (init.headers) this.headers = init.headers;
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The class a bare HTTP status implies. */
export function classOfStatus(status: number): ErrorClass {
  switch (status) {
    case 400:
    case 422:
      return 'bad_request';
    case 401:
      return 'auth';
    case 403:
      return 'permission';
    case 404:
      return 'not_found';
    case 408:
    case 504:
      return 'timeout';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limit';
    case 502:
      return 'connection';
    case 503:
    case 529:
      return 'overloaded';
    default:
      return status >= 500 ? 'upstream' : 'bad_request';
  }
}

/** 400 with the offending parameter named, as OpenAI does. */
export function badRequest(message: string, param: string | null = null, code: string | null = null): GatewayError {
  return new GatewayError(400, { message, param, code: code ?? '400', errorClass: 'bad_request' });
}

/** Wrap anything thrown into a GatewayError (unknown errors are internal: 500). */
/** 403 for a management call that needs a proxy admin (the master key, or a key whose user is proxy_admin). */
export function notProxyAdmin(method: string | undefined, path: string, role: string | undefined): GatewayError {
  return new GatewayError(403, {
    message:
      `Only a proxy admin can call ${method} ${path} ` +
      `(this key's role is ${role ?? 'none'}; the master key is a proxy admin).`,
    type: 'auth_error',
    code: '403',
    errorClass: 'permission',
  });
}

export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new GatewayError(500, { message: `internal error in the proxy engine: ${msg}`, errorClass: 'internal' });
}
