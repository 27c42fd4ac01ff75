/**
 * Virtual-key authentication: the master key as before, otherwise a key from the governance store, looked up
 * by its sha256 and cached. The hot path for a cached key is synchronous: a Map lookup by the presented string
 * (no hash computed), the clock, two comparisons. Stale entries are served while one background read refreshes
 * them (stale-while-revalidate): a request never waits on the database for a key it used in the last TTL,
 * a block or delete made on another engine is seen within the TTL plus one read, and a database outage does
 * not break keys already in use. Changes made on this engine (`g.changed`) drop the entries at once.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';
import { parseJson } from '../governance/db/schema.js';
import type { Change, Governance } from '../governance/governance.js';
import { type LoadedKey, loadAuthRecord, recordRefers } from '../governance/keys/load.js';
import { abbreviate, hashKey } from '../governance/keys/secret.js';
import type { AuthRecord, GovernedPrincipal } from '../governance/types.js';
import { presentedKey } from './master-key.js';
import type { Authenticator, Principal } from './principal.js';

interface Entry {
  hash: string;
  principal: GovernedPrincipal;
  record: AuthRecord;
  /** the old key of a regeneration: refused from this epoch ms on */
  revokeAt?: number;
  /** after this (g.now()), serve once more and refresh in the background */
  staleAt: number;
  refreshing: boolean;
}

/** Unknown keys are remembered this long (a key created on another engine is found after at most this). */
const NEGATIVE_TTL_MS = 1000;
/** Bounds so a flood of random keys cannot grow memory without limit. */
const MAX_ENTRIES = 50_000;
const MAX_NEGATIVE = 10_000;
/** `last_active` is written in batches, never per request. */
const LAST_ACTIVE_FLUSH_MS = 10_000;

/** The authenticator of an engine with governance: the master key, and virtual keys from the store. */
export function virtualKeyAuth(g: Governance, masterKey: string): VirtualKeyAuth {
  return new VirtualKeyAuth(g, masterKey);
}

export class VirtualKeyAuth implements Authenticator {
  readonly name = 'virtual_key';
  readonly enabled = true;
  private readonly master: Buffer;
  private readonly masterPrincipal: GovernedPrincipal;
  /** by the key as presented, so a cached key costs no hashing */
  private readonly cache = new Map<string, Entry>();
  private readonly negative = new Map<string, number>();
  private readonly loading = new Map<string, Promise<LoadedKey | undefined>>();
  /** bumped by every change notice: a read that started before one is used once, never cached */
  private generation = 0;
  private readonly active = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly g: Governance,
    masterKey: string,
  ) {
    this.master = Buffer.from(masterKey, 'utf8');
    // no `role` on it: roleOf() makes the master key proxy_admin, and its principal stays the one MasterKeyAuth
    // gives (what settled events and sinks already see)
    this.masterPrincipal = Object.freeze({ kind: 'master' as const, keyHash: g.settings.masterKeyHash });
    g.onChange((c) => this.forget(c));
    this.timer = setInterval(() => void this.flushLastActive(), LAST_ACTIVE_FLUSH_MS);
    this.timer.unref();
    g.onClose(async () => {
      clearInterval(this.timer);
      await this.flushLastActive();
    });
  }

  authenticate(headers: IncomingHttpHeaders): Principal | Promise<Principal> {
    const presented = presentedKey(headers);
    if (presented === undefined || presented === '') {
      throw authError('Authentication Error, No api key passed in. Send "Authorization: Bearer <key>".');
    }
    const m = this.master;
    if (presented.length === m.length) {
      const b = Buffer.from(presented, 'utf8');
      if (b.length === m.length && timingSafeEqual(b, m)) return this.masterPrincipal;
    }
    const now = this.g.now();
    const e = this.cache.get(presented);
    if (e !== undefined) {
      if (now >= e.staleAt && !e.refreshing) this.refresh(presented, e);
      return this.check(presented, e, now);
    }
    if (!presented.startsWith('sk-')) {
      throw authError(
        `Authentication Error, LiteLLM Virtual Key expected. Received=${abbreviate(presented)}, ` +
          "expected to start with 'sk-'.",
      );
    }
    const until = this.negative.get(presented);
    if (until !== undefined) {
      if (now < until) throw unknownKey(presented);
      this.negative.delete(presented);
    }
    return this.load(presented);
  }

  /** The checks every request of a found key passes, in LiteLLM's order (blocked key, blocked team, expiry). */
  private check(presented: string, e: Entry, now: number): GovernedPrincipal {
    const { key, team } = e.record;
    if (e.revokeAt !== undefined && now >= e.revokeAt) {
      this.cache.delete(presented);
      throw unknownKey(presented);
    }
    if (key.blocked) {
      throw authError("Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.");
    }
    if (team?.blocked) {
      throw authError(
        `Authentication Error, Team=${team.team_id} is blocked. Update via \`/team/unblock\` if you're an admin.`,
      );
    }
    if (key.expires !== null && now >= key.expires) {
      throw new GatewayError(401, {
        message:
          'Authentication Error - Expired Key. ' +
          `Key Expiry time ${new Date(key.expires).toISOString()} and current time ${new Date(now).toISOString()}`,
        type: 'expired_key',
        param: abbreviate(presented),
        code: '401',
        errorClass: 'auth',
      });
    }
    this.active.add(key.token);
    return e.principal;
  }

  private read(hash: string): Promise<LoadedKey | undefined> {
    let p = this.loading.get(hash);
    if (!p) {
      p = loadAuthRecord(this.g, hash).finally(() => this.loading.delete(hash));
      this.loading.set(hash, p);
    }
    return p;
  }

  private async load(presented: string): Promise<Principal> {
    const hash = hashKey(presented);
    const gen = this.generation;
    let found: LoadedKey | undefined;
    try {
      found = await this.read(hash);
    } catch (err) {
      return this.storeDown(hash, err);
    }
    if (!found) {
      if (gen === this.generation) {
        if (this.negative.size >= MAX_NEGATIVE) this.negative.clear();
        this.negative.set(presented, this.g.now() + NEGATIVE_TTL_MS);
      }
      throw unknownKey(presented);
    }
    const e = this.entry(hash, found);
    if (gen === this.generation) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(presented, e);
    }
    return this.check(presented, e, this.g.now());
  }

  /** Re-read a stale entry in the background; the entry keeps serving until the read answers. */
  private refresh(presented: string, e: Entry): void {
    e.refreshing = true;
    const gen = this.generation;
    this.read(e.hash).then(
      (found) => {
        if (this.cache.get(presented) !== e) return;
        if (!found) this.cache.delete(presented);
        else if (gen === this.generation) this.cache.set(presented, this.entry(e.hash, found));
        else this.cache.delete(presented);
      },
      (err) => {
        // the store is down: keep serving what we know (cached keys keep working), retry after another TTL
        e.refreshing = false;
        e.staleAt = this.g.now() + this.g.settings.authCacheTtlMs;
        this.g.logger.warn({ error: (err as Error).message }, 'virtual key refresh failed; serving the cached record');
      },
    );
  }

  private entry(hash: string, found: LoadedKey): Entry {
    return {
      hash,
      principal: principalOf(found.record),
      record: found.record,
      revokeAt: found.revokeAt,
      staleAt: this.g.now() + this.g.settings.authCacheTtlMs,
      refreshing: false,
    };
  }

  /** An unknown key while the store cannot be read: 503 naming the cause, or LiteLLM's admin pass-through. */
  private storeDown(hash: string, err: unknown): GovernedPrincipal {
    const cause = err instanceof Error ? err.message : String(err);
    this.g.logger.warn({ db: this.g.store.where, error: cause }, 'virtual key lookup failed: the store is unreachable');
    if (this.g.settings.allowRequestsOnDbUnavailable) {
      // general_settings.allow_requests_on_db_unavailable: LiteLLM lets the call through as an admin
      return Object.freeze({ kind: 'master' as const, keyHash: hash, keyAlias: 'failed-to-connect-to-db' });
    }
    throw new GatewayError(503, {
      message:
        `Authentication Error, cannot check this key: the key store at ${this.g.store.where} is unreachable ` +
        `(${cause}). Keys in use before the outage keep working; set ` +
        'general_settings.allow_requests_on_db_unavailable to let unknown keys through.',
      type: 'no_db_connection',
      code: '503',
      errorClass: 'overloaded',
    });
  }

  /** Drop what a change touches: a key by hash, a team/user/org/budget by id (every key that refers to it). */
  private forget(c: Change): void {
    this.generation++;
    if (c.kind === 'key' || c.kind === 'all') this.negative.clear();
    for (const [presented, e] of this.cache) {
      if (recordRefers(e.record, c.kind, c.id) || (c.kind === 'key' && c.id === e.hash)) this.cache.delete(presented);
    }
  }

  private async flushLastActive(): Promise<void> {
    if (this.active.size === 0) return;
    const hashes = [...this.active];
    this.active.clear();
    try {
      await this.g.store.db
        .updateTable('keys')
        .set({ last_active: this.g.now() })
        .where('token', 'in', hashes)
        .execute();
    } catch (err) {
      this.g.logger.warn({ error: (err as Error).message }, 'could not record keys last_active');
    }
  }
}

/** The principal of a found key (one frozen object per cache entry, shared by its requests). */
function principalOf(r: AuthRecord): GovernedPrincipal {
  const k = r.key;
  const keyModels = parseJson<string[]>(k.models, []);
  const teamModels = r.team ? parseJson<string[]>(r.team.models, []) : [];
  // what the key may call as one list (access.ts decides; this is for logs and sinks): the team's when the key
  // defers to it, neither list meaning every model
  const own = keyModels.length > 0 && !(r.team && keyModels.includes('all-team-models'));
  const list = own ? keyModels : teamModels;
  const models = list.length > 0 && !list.includes('all-proxy-models') ? list : undefined;
  const limits: { rpm?: number; tpm?: number; maxParallelRequests?: number; maxBudget?: number } = {};
  if (k.rpm_limit !== null) limits.rpm = k.rpm_limit;
  if (k.tpm_limit !== null) limits.tpm = k.tpm_limit;
  if (k.max_parallel_requests !== null) limits.maxParallelRequests = k.max_parallel_requests;
  if (k.max_budget !== null) limits.maxBudget = k.max_budget;
  return Object.freeze({
    kind: 'virtual_key' as const,
    keyHash: k.token,
    keyAlias: k.key_alias ?? undefined,
    userId: k.user_id ?? undefined,
    teamId: k.team_id ?? undefined,
    orgId: k.organization_id ?? r.org?.organization_id ?? undefined,
    models,
    limits: Object.freeze(limits),
    metadata: Object.freeze(parseJson<Record<string, never>>(k.metadata, {})),
    role: r.user?.user_role ?? 'internal_user',
    record: r,
  });
}

function authError(message: string): GatewayError {
  return new GatewayError(401, { message, type: 'auth_error', code: '401', errorClass: 'auth' });
}

function unknownKey(presented: string): GatewayError {
  return authError(
    `Authentication Error, Invalid proxy server token passed. Received API Key = ${abbreviate(presented)}. ` +
      'Unable to find token in cache or `LiteLLM_VerificationTokenTable`',
  );
}
