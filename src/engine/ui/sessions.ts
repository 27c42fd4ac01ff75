/**
 * Dashboard sessions: who logged in to /ui, kept in this process. A session holds the credential its
 * requests act with (the master key for an admin login, the user's own virtual key otherwise): the browser
 * only ever holds an opaque, HttpOnly, SameSite=Strict cookie, and every write also carries the session's
 * CSRF token in a header. Sessions end at logout, after 12 h idle, or when the engine stops.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE = 'kubiya_ui';
const IDLE_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;
// failed logins per client address per minute before a 429 (a password guesser gets 5 tries a minute)
const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 60_000;

export interface UiSession {
  id: string;
  /** sent back in the `x-csrf-token` header of every write */
  csrf: string;
  /** the key the session's API calls carry (never sent to the browser) */
  key: string;
  /** admin: the master key's login; user: a virtual key's */
  role: 'admin' | 'user';
  /** what the page shows: "admin", the key's alias or user id */
  name: string;
  userId?: string;
  seen: number;
}

/** Equal strings in time that does not depend on where they differ (hashes first: lengths may differ). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class Sessions {
  private readonly byId = new Map<string, UiSession>();
  private readonly failures = new Map<string, { start: number; n: number }>();

  create(s: Omit<UiSession, 'id' | 'csrf' | 'seen'>, now = Date.now()): UiSession {
    if (this.byId.size >= MAX_SESSIONS) this.prune(now);
    // still full: the least recently seen goes (a Map iterates in insertion order; `get` re-inserts)
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value as string);
    const session: UiSession = {
      ...s,
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      seen: now,
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session of a request's cookie header, or undefined. */
  fromCookie(cookieHeader: string | undefined, now = Date.now()): UiSession | undefined {
    const id = cookieValue(cookieHeader, COOKIE);
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (now - s.seen > IDLE_MS) {
      this.byId.delete(id);
      return undefined;
    }
    s.seen = now;
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  /** Every session acting with `key` ends (the key was deleted or blocked). */
  endFor(key: string): void {
    for (const [id, s] of this.byId) if (s.key === key) this.byId.delete(id);
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

  private prune(now: number): void {
    for (const [id, s] of this.byId) if (now - s.seen > IDLE_MS) this.byId.delete(id);
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
