/**
 * Dashboard sessions: who logged in to /ui. A session holds the credential its requests act with (the master
 * key for an admin login, the user's own virtual key otherwise). It travels as an opaque, HttpOnly,
 * SameSite=Strict cookie: the session sealed with AES-256-GCM under a key derived from the master key, so the
 * browser can neither read nor forge it, and every engine with that master key (the workers of
 * `--num_workers`, a restarted engine) opens it without shared storage. Every write also carries the
 * session's CSRF token in a header. A session ends at logout (in the engine that saw it; the browser drops
 * the cookie) or 12 h after login.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE = 'kubiya_ui';
const LIFETIME_MS = 12 * 3600_000;
// failed logins per client address per minute before a 429 (a password guesser gets 5 tries a minute)
const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 60_000;
const MAX_REVOKED = 10_000;

export interface UiSession {
  /** the cookie's value (the sealed session) */
  id: string;
  /** sent back in the `x-csrf-token` header of every write */
  csrf: string;
  /** the key the session's API calls carry (never readable by the browser) */
  key: string;
  /** admin: the master key's login; user: a virtual key's */
  role: 'admin' | 'user';
  /** what the page shows: "admin", the key's alias or user id */
  name: string;
  userId?: string;
  /** epoch ms the session ends */
  expires: number;
}

interface Sealed {
  k: string;
  r: 'admin' | 'user';
  n: string;
  u?: string;
  c: string;
  e: number;
}

/** Equal strings in time that does not depend on where they differ (hashes first: lengths may differ). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class Sessions {
  private readonly key: Buffer;
  private readonly revoked = new Set<string>();
  private readonly failures = new Map<string, { start: number; n: number }>();

  /** `secret`: what every engine that should accept the cookie shares (the master key); none: this engine only */
  constructor(secret?: string) {
    this.key = secret ? createHash('sha256').update('kubiya-ui-session\0').update(secret).digest() : randomBytes(32);
  }

  create(s: Omit<UiSession, 'id' | 'csrf' | 'expires'>, now = Date.now()): UiSession {
    const csrf = randomBytes(24).toString('base64url');
    const expires = now + LIFETIME_MS;
    const sealed: Sealed = { k: s.key, r: s.role, n: s.name, u: s.userId, c: csrf, e: expires };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(sealed), 'utf8'), cipher.final()]);
    const id = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    return { ...s, id, csrf, expires };
  }

  /** The live session of a request's cookie header, or undefined (none, forged, expired or logged out). */
  fromCookie(cookieHeader: string | undefined, now = Date.now()): UiSession | undefined {
    const id = cookieValue(cookieHeader, COOKIE);
    if (!id || id.length > 4096 || this.revoked.has(id)) return undefined;
    let s: Sealed;
    try {
      const raw = Buffer.from(id, 'base64url');
      if (raw.length < 29) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      s = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof s.e !== 'number' || now >= s.e) return undefined;
    return { id, csrf: s.c, key: s.k, role: s.r, name: s.n, userId: s.u, expires: s.e };
  }

  /** Logout: this engine refuses the cookie from now on (the browser is told to drop it). */
  end(id: string): void {
    if (this.revoked.size >= MAX_REVOKED) this.revoked.clear();
    this.revoked.add(id);
  }

  /** True when `client` has failed too often this minute; `failed` counts one more. */
  locked(client: string, now = Date.now()): boolean {
    const f = this.failures.get(client);
    return f !== undefined && now - f.start < FAILURE_WINDOW_MS && f.n >= MAX_FAILURES;
  }

  failed(client: string, now = Date.now()): void {
    const f = this.failures.get(client);
    if (!f || now - f.start >= FAILURE_WINDOW_MS) {
      if (this.failures.size > 10_000) this.failures.clear();
      this.failures.set(client, { start: now, n: 1 });
    } else f.n++;
  }
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
