import type { IncomingMessage } from 'node:http';
import { badRequest, GatewayError } from '../errors.js';
import type { JsonObject } from '../providers/types.js';

/** 413 for a body over the limit; the connection is closed after the answer so the rest is never read. */
export function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, {
    message: `Request body is larger than max_request_size_mb (${+(limit / 1048576).toFixed(3)} MB).`,
    code: 'request_too_large',
    errorClass: 'too_large',
  });
}

/**
 * Read and JSON.parse a request body once. Rejects with 413 as soon as Content-Length or the bytes
 * read pass `limit` (without reading further), 400 when it is not a JSON object.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonObject> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      parts.push(b);
    };
    const onEnd = () => {
      cleanup();
      const text = (parts.length === 1 ? parts[0] : Buffer.concat(parts, size)).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        reject(badRequest(`Invalid JSON in the request body: ${(e as Error).message}`, null, 'invalid_json'));
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        reject(badRequest('The request body must be a JSON object.', null, 'invalid_json'));
        return;
      }
      resolve(value as JsonObject);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
