import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';

/**
 * Master-key auth: `Authorization: Bearer <key>`, `api-key` or `x-api-key`. The comparison is
 * constant-time over the key's bytes (`timingSafeEqual`); only the key's length can be learnt from
 * timing, as with any such check. Hashing both sides instead costs ~8 µs a request (a Hash object
 * per call), the largest single item on the hot path, for no practical gain. No key: everything passes.
 */
export class MasterKeyAuth {
  private readonly key?: Buffer;

  constructor(masterKey: string | undefined) {
    this.key = masterKey ? Buffer.from(masterKey, 'utf8') : undefined;
  }

  get enabled(): boolean {
    return this.key !== undefined;
  }

  /** Throws a 401 GatewayError unless the headers carry the master key. */
  check(headers: IncomingHttpHeaders): void {
    const key = this.key;
    if (!key) return;
    const presented = presentedKey(headers);
    if (presented === undefined) {
      throw new GatewayError(401, { message: 'Authentication Error: no API key passed. Send "Authorization: Bearer <key>".', code: '401', errorClass: 'auth' });
    }
    const b = Buffer.from(presented, 'utf8');
    if (b.length !== key.length || !timingSafeEqual(b, key)) {
      throw new GatewayError(401, { message: 'Authentication Error: invalid proxy API key.', code: '401', errorClass: 'auth' });
    }
  }
}

function presentedKey(h: IncomingHttpHeaders): string | undefined {
  const auth = h.authorization;
  if (auth) {
    const a = auth.trim();
    return a.length > 7 && a.charCodeAt(6) === 32 && a.slice(0, 6).toLowerCase() === 'bearer' ? a.slice(7).trim() : a;
  }
  const k = h['api-key'] ?? h['x-api-key'];
  return typeof k === 'string' ? k.trim() : Array.isArray(k) ? k[0] : undefined;
}
