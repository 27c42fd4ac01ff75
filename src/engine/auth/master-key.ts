import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';

const sha = (s: string) => createHash('sha256').update(s).digest();

/**
 * Master-key auth: `Authorization: Bearer <key>`, `api-key` or `x-api-key`. Both sides are hashed
 * first, so the comparison is constant-time whatever the lengths. No key configured: everything passes.
 */
export class MasterKeyAuth {
  private readonly digest?: Buffer;

  constructor(masterKey: string | undefined) {
    this.digest = masterKey ? sha(masterKey) : undefined;
  }

  get enabled(): boolean {
    return this.digest !== undefined;
  }

  /** Throws a 401 GatewayError unless the headers carry the master key. */
  check(headers: IncomingHttpHeaders): void {
    if (!this.digest) return;
    const presented = presentedKey(headers);
    if (presented === undefined) {
      throw new GatewayError(401, { message: 'Authentication Error: no API key passed. Send "Authorization: Bearer <key>".', code: '401', errorClass: 'auth' });
    }
    if (!timingSafeEqual(sha(presented), this.digest)) {
      throw new GatewayError(401, { message: 'Authentication Error: invalid proxy API key.', code: '401', errorClass: 'auth' });
    }
  }
}

function presentedKey(h: IncomingHttpHeaders): string | undefined {
  const auth = h.authorization;
  if (auth) {
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    return m ? m[1] : auth.trim();
  }
  const k = h['api-key'] ?? h['x-api-key'];
  return typeof k === 'string' ? k.trim() : Array.isArray(k) ? k[0] : undefined;
}
