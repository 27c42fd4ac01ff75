/**
 * Bedrock error answers -> GatewayError. The error type comes from the `x-amzn-errortype` header
 * (`ThrottlingException:http://...`) or the body's `__type`; the message from `{"message": ...}`.
 * Stream exception events carry the same types in camelCase (`throttlingException`).
 */
import type { GatewayError } from '../../errors.js';
import { mapHttpError } from '../errors.js';
import type { UpstreamErrorInfo } from '../types.js';

const STATUS_OF: Record<string, number> = {
  throttlingexception: 429,
  servicequotaexceededexception: 429,
  toomanyrequestsexception: 429,
  accessdeniedexception: 403,
  resourcenotfoundexception: 404,
  validationexception: 400,
  serviceunavailableexception: 503,
  modelnotreadyexception: 503,
  modeltimeoutexception: 504,
  unrecognizedclientexception: 401,
  invalidsignatureexception: 401,
  expiredtokenexception: 401,
  incompletesignatureexception: 401,
  missingauthenticationtokenexception: 401,
  internalserverexception: 500,
  modelerrorexception: 500,
  modelstreamerrorexception: 500,
};

// Bedrock's ways of saying the prompt does not fit ("Input is too long", "max_tokens ... exceeds ...")
const CONTEXT = new RegExp(
  'too long|input is too long|max tokens|max_tokens|context window|exceeds? the (?:maximum|model)|' +
    'prompt is too long|too many (?:input )?tokens',
  'i',
);

/** Map an HTTP error answer from Bedrock. */
export function mapBedrockError(label: string, err: UpstreamErrorInfo): GatewayError {
  const header = err.headers['x-amzn-errortype'];
  let type = (Array.isArray(header) ? header[0] : header)?.split(':')[0];
  let message: string | undefined;
  try {
    const o = JSON.parse(err.body) as Record<string, unknown>;
    message = typeof o.message === 'string' ? o.message : typeof o.Message === 'string' ? o.Message : undefined;
    if (!type && typeof o.__type === 'string') type = o.__type.split('#').pop();
  } catch {
    message = err.body.trim().slice(0, 500) || undefined;
  }
  return bedrockError(label, type, message, err.status, err.headers);
}

/** Map an exception by type name (HTTP or stream event) and message. */
export function bedrockError(
  label: string,
  type: string | undefined,
  message: string | undefined,
  httpStatus: number,
  headers: UpstreamErrorInfo['headers'] = {},
): GatewayError {
  const key = type?.toLowerCase();
  let status = (key && STATUS_OF[key]) || httpStatus;
  // a bad secret key is a 403 "signature does not match"
  if (/signature/i.test(message ?? '') && status === 403) status = 401;
  const msg = message ?? type ?? `HTTP ${httpStatus}`;
  const context = status === 400 && CONTEXT.test(msg);
  const detail = {
    message: type && !msg.includes(type) ? `${type}: ${msg}` : msg,
    code: context ? 'context_length_exceeded' : (type ?? String(status)),
  };
  return mapHttpError(label, { status, headers, body: '' }, detail);
}
