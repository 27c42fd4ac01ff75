import type { GatewayError } from '../../errors.js';
import { extractErrorDetail, mapHttpError } from '../errors.js';
import type { UpstreamErrorInfo } from '../types.js';

/** Azure's content filter answers: `code: content_filter` or `innererror.code: ResponsibleAIPolicyViolation`. */
export function mapAzureError(label: string, err: UpstreamErrorInfo): GatewayError {
  const detail = extractErrorDetail(err.body);
  if (err.status === 400 && /ResponsibleAIPolicyViolation|content_filter/.test(err.body))
    detail.code = 'content_policy_violation';
  return mapHttpError(label, err, detail);
}
