/**
 * The RouterState shared by every engine on one Redis: deployment usage windows (rpm, tpm) and cooldowns are
 * shared; in-flight counts, latency and the failure counts that lead to a cooldown stay in each engine.
 *
 * Layout (one hash tag, so a Cluster keeps it on one slot and a pipeline or script may touch all of it):
 * - `{kubiya:router}:usage:<minute>`: a hash, `<deployment id>:r` requests and `<deployment id>:t` tokens of
 *   that calendar minute (what the in-process state counts), expiring two minutes later;
 * - `{kubiya:router}:cooldowns`: a hash, deployment id -> epoch ms its cooldown ends (a later deadline wins;
 *   ended ones are dropped by whoever reads them).
 *
 * Reads never wait on Redis: a timer re-reads both hashes every COOLDOWN_REFRESH_MS (one pipelined round trip
 * per engine, not per request), so a cooldown set by one engine is honoured by every other within a second,
 * and usage-based routing sees the others' traffic as of then. A deployment with its own `rpm`/`tpm` is exact:
 * `claim` checks and takes the request in one script before the call (the one round trip of such a request),
 * and a refusal marks it full here at once. Writes after the call (tokens, a cooldown) are one pipeline, not
 * awaited. With Redis away everything answers from the in-process state (which is always kept too).
 */
import type { Deployment, ModelGroup } from '../deployment.js';
import type { RouterSettings } from '../router/settings.js';
import type { RouteTable } from '../router/table.js';
import { MemoryRouterState } from '../state/memory.js';
import type { DeploymentLoad, RouterState, SettledAttempt, StateView } from '../state/router-state.js';
import type { RedisClient, SharedRedis } from './shared.js';

const MINUTE_MS = 60_000;
/** how often the shared cooldowns and usage are re-read (a cooldown reaches every engine within this + a trip) */
export const COOLDOWN_REFRESH_MS = 500;

const TAG = '{kubiya:router}';
export const COOLDOWNS_KEY = `${TAG}:cooldowns`;
export const usageKey = (minute: number) => `${TAG}:usage:${minute}`;

// KEYS: the usage hash. ARGV: deployment id, rpm, tpm (-1: none). Takes one request when both are below their
// limits; answers {1|0, requests, tokens} (after the request when taken).
const CLAIM = `
local r = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':r') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':t') or '0')
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
if (rpm >= 0 and r >= rpm) or (tpm >= 0 and t >= tpm) then return {0, r, t} end
r = redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':r', 1)
redis.call('PEXPIRE', KEYS[1], 120000)
return {1, r, t}
`;

type Scripted = RedisClient & {
  kubiyaRouterClaim(key: string, id: string, rpm: number, tpm: number): Promise<number[]>;
};

/** What the shared store last said about one deployment. */
interface Shared {
  minute: number;
  requests: number;
  tokens: number;
  cooldownUntil: number;
}

/** A deployment's load: this engine's in flight and latency, the shared windows and cooldown. */
class Load implements DeploymentLoad {
  constructor(
    private readonly owner: RedisRouterState,
    private readonly d: Deployment,
    readonly shared: Shared,
  ) {}
  private get mine(): DeploymentLoad {
    return this.owner.local.of(this.d);
  }
  get inflight(): number {
    return this.mine.inflight;
  }
  get latencyMs(): number {
    return this.mine.latencyMs;
  }
  get cooldownUntil(): number {
    return Math.max(this.mine.cooldownUntil, this.shared.cooldownUntil);
  }
  get requests(): number {
    const s = this.shared;
    const local = this.mine.requests;
    return this.owner.sharedOn && s.minute === this.owner.minute ? Math.max(s.requests, local) : local;
  }
  get tokens(): number {
    const s = this.shared;
    const local = this.mine.tokens;
    return this.owner.sharedOn && s.minute === this.owner.minute ? Math.max(s.tokens, local) : local;
  }
}

export class RedisRouterState implements RouterState, StateView {
  /** the in-process state: in flight, latency, failure counts, and the fallback windows */
  readonly local = new MemoryRouterState();
  private readonly loads = new Map<Deployment, Load>();
  private readonly byId = new Map<string, Shared[]>();
  private readonly timer: NodeJS.Timeout;
  private refreshing = false;
  /** the minute of the last read (Load compares the shared windows with it) */
  minute = 0;
  private now = 0;

  constructor(
    private readonly redis: SharedRedis,
    table: RouteTable,
  ) {
    const c = redis.client;
    if (!('kubiyaRouterClaim' in c)) c.defineCommand('kubiyaRouterClaim', { lua: CLAIM, numberOfKeys: 1 });
    const groups = [...table.groups.values(), ...table.wildcards.map((w) => w.group)];
    for (const g of groups) for (const d of g.deployments) this.load(d);
    this.timer = setInterval(() => void this.refresh(), COOLDOWN_REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  /** Redis answers: the shared windows count (else this engine's own). */
  get sharedOn(): boolean {
    return this.redis.client.status === 'ready';
  }

  read(group: ModelGroup, now: number): StateView {
    this.local.read(group, now);
    this.now = now;
    this.minute = Math.floor(now / MINUTE_MS);
    return this;
  }

  of(d: Deployment): DeploymentLoad {
    return this.load(d);
  }

  msToReset(): number {
    return MINUTE_MS - (this.now % MINUTE_MS);
  }

  claim(d: Deployment, now: number): boolean | Promise<boolean> {
    const minute = Math.floor(now / MINUTE_MS);
    const l = this.load(d);
    const local = () => this.localClaim(d, now);
    if (!this.redis.up) return local();
    return this.redis.run(
      async (c) => {
        const [ok, r, t] = await (c as Scripted).kubiyaRouterClaim(usageKey(minute), d.id, d.rpm ?? -1, d.tpm ?? -1);
        // a refusal leaves counts at a limit: the next read shows the deployment full
        this.learn(l.shared, minute, r, t);
        return ok === 1;
      },
      local,
      'router',
    );
  }

  begin(d: Deployment, counted: boolean, now: number): void {
    this.local.begin(d, counted, now);
    // a deployment with its own limits was counted by its claim; others (usage-based routing) are counted here
    if (!counted || d.rpm !== undefined || d.tpm !== undefined || !this.redis.up) return;
    const minute = Math.floor(now / MINUTE_MS);
    const s = this.load(d).shared;
    this.learn(s, minute, s.minute === minute ? s.requests + 1 : 1, s.minute === minute ? s.tokens : 0);
    this.redis.send(
      (c) => c.pipeline().hincrby(usageKey(minute), `${d.id}:r`, 1).pexpire(usageKey(minute), 120_000).exec(),
      'router',
    );
  }

  settle(a: SettledAttempt, rules: RouterSettings, now: number): void {
    const d = a.deployment;
    const before = this.local.of(d).cooldownUntil;
    this.local.settle(a, rules, now);
    const until = this.local.of(d).cooldownUntil;
    const cooled = until > before && until > now;
    if ((a.windowTokens <= 0 && !cooled) || !this.redis.up) return;
    const minute = Math.floor(now / MINUTE_MS);
    const s = this.load(d).shared;
    if (a.windowTokens > 0 && s.minute === minute) s.tokens += a.windowTokens;
    if (cooled) s.cooldownUntil = Math.max(s.cooldownUntil, until);
    this.redis.send((c) => {
      const p = c.pipeline();
      if (a.windowTokens > 0)
        p.hincrby(usageKey(minute), `${d.id}:t`, a.windowTokens).pexpire(usageKey(minute), 120_000);
      // another engine may have set a later deadline meanwhile: the refresh keeps the later of the two
      if (cooled) p.hset(COOLDOWNS_KEY, d.id, until);
      return p.exec();
    }, 'router');
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Re-read the shared cooldowns and this minute's usage (one pipeline); drop ended cooldowns. No request waits
   * on it: ioredis's backstop timeout applies, not the request deadline.
   */
  async refresh(): Promise<void> {
    if (this.refreshing || !this.redis.up) return;
    this.refreshing = true;
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    try {
      const res = await this.redis.client.pipeline().hgetall(COOLDOWNS_KEY).hgetall(usageKey(minute)).exec();
      if (!res) return;
      for (const [err] of res) if (err) throw err;
      const cooldowns = res[0][1] as Record<string, string>;
      const usage = res[1][1] as Record<string, string>;
      for (const [id, list] of this.byId) {
        const until = Number(cooldowns[id] ?? 0);
        const r = Number(usage[`${id}:r`] ?? 0);
        const t = Number(usage[`${id}:t`] ?? 0);
        for (const s of list) {
          s.cooldownUntil = until > now ? until : 0;
          this.learn(s, minute, r, t);
        }
      }
      this.redis.ok();
      const ended = Object.entries(cooldowns).filter(([, v]) => Number(v) <= now);
      if (ended.length > 0) this.redis.send((c) => c.hdel(COOLDOWNS_KEY, ...ended.map(([id]) => id)), 'router');
    } catch (e) {
      this.redis.fail(e, 'router');
    } finally {
      this.refreshing = false;
    }
  }

  /** Counts only grow within a minute: keep the larger of what this engine knows and what it was told. */
  private learn(s: Shared, minute: number, requests: number, tokens: number): void {
    if (s.minute !== minute) {
      s.minute = minute;
      s.requests = requests;
      s.tokens = tokens;
      return;
    }
    s.requests = Math.max(s.requests, requests);
    s.tokens = Math.max(s.tokens, tokens);
  }

  /** Redis away: the in-process window decides (this engine's own count; `begin` takes the request). */
  private localClaim(d: Deployment, now: number): boolean {
    const l = this.local.read({ deployments: [d] } as unknown as ModelGroup, now).of(d);
    return !(l.requests >= (d.rpm ?? Infinity) || l.tokens >= (d.tpm ?? Infinity));
  }

  private load(d: Deployment): Load {
    let l = this.loads.get(d);
    if (l === undefined) {
      const shared: Shared = { minute: 0, requests: 0, tokens: 0, cooldownUntil: 0 };
      l = new Load(this, d, shared);
      this.loads.set(d, l);
      const list = this.byId.get(d.id);
      if (list) list.push(shared);
      else this.byId.set(d.id, [shared]);
    }
    return l;
  }
}
