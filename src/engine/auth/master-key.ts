import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';
import { ANONYMOUS, type Authenticator, type Principal } from './principal.js';

/**
 * Master-key auth: `Authorization: Bearer <key>`, `api-key` or `x-api-key`. The comparison is
 * constant-time over the key's bytes (`timingSafeEqual`); only the key's length can be learnt from
 * timing, as with any such check. Hashing both sides instead costs ~8 µs a request (a Hash object
 * per call), the largest single item on the hot path, for no practical gain. No key: everything
 * passes as ANONYMOUS. Synchronous: the principal is one frozen object made at construction.
 */
export class MasterKeyAuth implements Authenticator {
  readonly name = 'master_key';
  private readonly key?: Buffer;
  private readonly principal: Principal;

  constructor(masterKey: string | undefined) {
    this.key = masterKey ? Buffer.from(masterKey, 'utf8') : undefined;
    // the hash is what spend logs and log lines name the key by; computed once, never per request
    this.principal = this.key
      ? Object.freeze({ kind: 'master' as const, keyHash: createHash('sha256').update(this.key).digest('hex') })
      : ANONYMOUS;
  }

  get enabled(): boolean {
    return this.key !== undefined;
  }

  /** The master principal, or a 401 GatewayError unless the headers carry the master key. */
  authenticate(headers: IncomingHttpHeaders): Principal {
    const key = this.key;
    if (!key) return ANONYMOUS;
    const presented = presentedKey(headers);
    if (presented === undefined) {
      throw new GatewayError(401, {
        message: 'Authentication Error: no API key passed. Send "Authorization: Bearer <key>".',
        code: '401',
        errorClass: 'auth',
      });
    }
    const b = Buffer.from(presented, 'utf8');
    if (b.length !== key.length || !timingSafeEqual(b, key)) {
      throw new GatewayError(401, {
        message: 'Authentication Error: invalid proxy API key.',
        code: '401',
        errorClass: 'auth',
      });
    }
    return this.principal;
  }
}

/**
 * The key a request presents (every authenticator): `x-litellm-api-key` first (LiteLLM's header for when
 * `Authorization` carries something else), else `Authorization: Bearer <key>`, else `api-key` / `x-api-key`.
 */
export function presentedKey(h: IncomingHttpHeaders): string | undefined {
  const own = h['x-litellm-api-key'];
  if (typeof own === 'string' && own !== '') return withoutBearer(own.trim());
  const auth = h.authorization;
  if (auth) return withoutBearer(auth.trim());
  const k = h['api-key'] ?? h['x-api-key'];
  return typeof k === 'string' ? k.trim() : Array.isArray(k) ? k[0] : undefined;
}

function withoutBearer(a: string): string {
  return a.length > 7 && a.charCodeAt(6) === 32 && a.slice(0, 6).toLowerCase() === 'bearer' ? a.slice(7).trim() : a;
}
