import { type ErrorClass, GatewayError } from '../errors.js';
import type { ApiFormat } from '../http/response-writer.js';

/** Anthropic's error `type` for each engine error class (what the @anthropic-ai/sdk and Claude clients read). */
const ANTHROPIC_TYPE: Record<ErrorClass, string> = {
  bad_request: 'invalid_request_error',
  context_window: 'invalid_request_error',
  content_policy: 'invalid_request_error',
  auth: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  upstream: 'api_error',
  connection: 'api_error',
  overloaded: 'overloaded_error',
  timeout: 'api_error',
  internal: 'api_error',
};

/** The body Anthropic sends for an error: `{"type":"error","error":{"type","message"}}`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  request_id?: string;
}

/** A GatewayError in Anthropic's error shape (the HTTP status stays the engine's). */
export function anthropicError(err: GatewayError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: 'error',
    error: { type: ANTHROPIC_TYPE[err.errorClass] ?? 'api_error', message: err.message },
  };
  if (requestId) body.request_id = requestId;
  return body;
}

/** 400 `invalid_request_error` in Anthropic's words (`param` kept for logs and the OpenAI shape). */
export function invalidRequest(message: string, param: string | null = null): GatewayError {
  return new GatewayError(400, { message, param, code: 'invalid_request_error', errorClass: 'bad_request' });
}

/** The SSE frame for an error that happens after the stream started. */
export function errorEvent(err: GatewayError): string {
  return `event: error\ndata: ${JSON.stringify(anthropicError(err))}\n\n`;
}

/** Anthropic's side of the response writer: `request-id` too, and its error body and stream event. */
export const ANTHROPIC_FORMAT: ApiFormat = {
  headers: (requestId) => ({ 'x-request-id': requestId, 'request-id': requestId }),
  errorBody: (err, requestId) => JSON.stringify(anthropicError(err, requestId)),
  streamError: errorEvent,
  // Anthropic answers overload with 529, which its SDKs raise as OverloadedError (the OpenAI side says 503)
  errorStatus: (err) => (err.errorClass === 'overloaded' ? 529 : err.status),
};
