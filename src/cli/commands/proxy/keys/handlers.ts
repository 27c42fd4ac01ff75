import { UserError } from '../../../../errors.js';
import type { Handler } from '../../../command.js';
import type { CliContext } from '../../../context.js';
import { formatTable } from '../../../output.js';
import { callEngine, type ProxyTargetOptions, proxyTarget } from '../target.js';

/** Where the engine is and the key to manage it with (every `proxy keys` command takes these). */
export type TargetOptions = ProxyTargetOptions;

export interface CreateOptions extends TargetOptions {
  alias?: string;
  models?: string;
  duration?: string;
  maxBudget?: string;
  budgetDuration?: string;
  userId?: string;
  teamId?: string;
  rpm?: string;
  tpm?: string;
  maxParallel?: string;
  metadata?: string;
  tags?: string;
}

export interface ListOptions extends TargetOptions {
  userId?: string;
  teamId?: string;
  alias?: string;
  page?: string;
  size?: string;
}

export interface DeleteOptions extends TargetOptions {
  alias?: string[];
}

/** A key as the engine's /key/* answers show it (LiteLLM's fields; the ones shown here). */
interface KeyJson {
  key?: string;
  key_name: string;
  key_alias: string | null;
  token: string;
  user_id: string | null;
  team_id: string | null;
  models: string[];
  spend: number;
  max_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_parallel_requests: number | null;
  expires: string | null;
  blocked: boolean;
  created_at: string;
  last_active: string | null;
}

interface KeyList {
  keys: KeyJson[];
  total_count: number;
  current_page: number;
  total_pages: number;
}

/** One management call to the engine the flags, environment or context name. */
async function request(
  ctx: CliContext,
  o: TargetOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown>,
): Promise<unknown> {
  return callEngine(await proxyTarget(ctx, o), method, path, body);
}

function number(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`${flag} must be a number; found "${v}"`);
  return n;
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** `kubiya proxy keys create`: the key is printed this once. */
export const keysCreate: Handler<CreateOptions> = async (ctx, o) => {
  let metadata: unknown;
  if (o.metadata !== undefined) {
    try {
      metadata = JSON.parse(o.metadata);
    } catch {
      throw new UserError(`--metadata must be a JSON object; found ${o.metadata}`);
    }
  }
  const body: Record<string, unknown> = {
    key_alias: o.alias,
    models: list(o.models),
    duration: o.duration,
    max_budget: number(o.maxBudget, '--max-budget'),
    budget_duration: o.budgetDuration,
    user_id: o.userId,
    team_id: o.teamId,
    rpm_limit: number(o.rpm, '--rpm'),
    tpm_limit: number(o.tpm, '--tpm'),
    max_parallel_requests: number(o.maxParallel, '--max-parallel'),
    metadata,
    tags: list(o.tags),
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  const k = (await request(ctx, o, 'POST', '/key/generate', body)) as KeyJson;
  if (ctx.output === 'json') {
    ctx.out.json(k);
    return 0;
  }
  ctx.out.line(`created ${k.key_name}${k.key_alias ? ` (${k.key_alias})` : ''}, token ${String(k.token).slice(0, 12)}`);
  ctx.out.line(k.key ?? '');
  ctx.stderr.write(`${ctx.errColor.yellow('note:')} this is the only time the key is shown: store it now\n`);
  return 0;
};

const money = (v: unknown) => (typeof v === 'number' ? `$${v.toFixed(4)}` : '-');
const or = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v));

/** `kubiya proxy keys list` */
export const keysList: Handler<ListOptions> = async (ctx, o) => {
  const q = new URLSearchParams({ return_full_object: 'true' });
  if (o.userId) q.set('user_id', o.userId);
  if (o.teamId) q.set('team_id', o.teamId);
  if (o.alias) q.set('key_alias', o.alias);
  if (o.page) q.set('page', o.page);
  if (o.size) q.set('size', o.size);
  const r = (await request(ctx, o, 'GET', `/key/list?${q}`)) as KeyList;
  if (ctx.output === 'json') {
    ctx.out.json(r);
    return 0;
  }
  const rows = r.keys.map((k) => [
    k.key_name,
    or(k.key_alias),
    String(k.token).slice(0, 12),
    or(k.user_id),
    or(k.team_id),
    k.models.length ? k.models.join(',') : 'all',
    money(k.spend),
    money(k.max_budget),
    k.expires ? String(k.expires).slice(0, 16).replace('T', ' ') : 'never',
    k.blocked ? 'yes' : 'no',
  ]);
  if (rows.length === 0) ctx.out.line('no keys');
  else
    ctx.out.line(
      formatTable(['NAME', 'ALIAS', 'TOKEN', 'USER', 'TEAM', 'MODELS', 'SPEND', 'BUDGET', 'EXPIRES', 'BLOCKED'], rows),
    );
  if (r.total_pages > 1) ctx.out.line(`page ${r.current_page} of ${r.total_pages} (${r.total_count} keys; --page N)`);
  return 0;
};

/** `kubiya proxy keys info KEY` (a key or its hash; the key itself is never shown). */
export const keysInfo: Handler<TargetOptions, [string]> = async (ctx, o, key) => {
  const r = (await request(ctx, o, 'GET', `/key/info?key=${encodeURIComponent(key)}`)) as { info: KeyJson };
  const info = r.info;
  if (ctx.output === 'json') {
    ctx.out.json(info);
    return 0;
  }
  const fields: [string, unknown][] = [
    ['name', info.key_name],
    ['alias', info.key_alias],
    ['token', info.token],
    ['user', info.user_id],
    ['team', info.team_id],
    ['models', info.models.length ? info.models.join(', ') : 'all'],
    ['spend', money(info.spend)],
    ['max budget', money(info.max_budget)],
    ['budget duration', info.budget_duration],
    ['budget resets', info.budget_reset_at],
    ['rpm / tpm / parallel', `${or(info.rpm_limit)} / ${or(info.tpm_limit)} / ${or(info.max_parallel_requests)}`],
    ['expires', info.expires ?? 'never'],
    ['blocked', info.blocked ? 'yes' : 'no'],
    ['created', info.created_at],
    ['last active', info.last_active],
  ];
  ctx.out.line(
    formatTable(
      ['FIELD', 'VALUE'],
      fields.map(([k, v]) => [k, or(v)]),
    ),
  );
  return 0;
};

function blocker(blocked: boolean): Handler<TargetOptions, [string]> {
  return async (ctx, o, key) => {
    const r = (await request(ctx, o, 'POST', blocked ? '/key/block' : '/key/unblock', { key })) as KeyJson;
    if (ctx.output === 'json') ctx.out.json(r);
    else ctx.out.line(`${blocked ? 'blocked' : 'unblocked'} ${r.key_name}${r.key_alias ? ` (${r.key_alias})` : ''}`);
    return 0;
  };
}

/** `kubiya proxy keys block KEY` / `unblock KEY` */
export const keysBlock = blocker(true);
export const keysUnblock = blocker(false);

/** `kubiya proxy keys delete KEY... [--alias A...]` */
export const keysDelete: Handler<DeleteOptions, [string[]]> = async (ctx, o, keys) => {
  const aliases = o.alias ?? [];
  if (keys.length === 0 && aliases.length === 0)
    throw new UserError('name the keys to delete (keys or their hashes), or --alias ALIAS');
  const body: Record<string, unknown> = {};
  if (keys.length) body.keys = keys;
  if (aliases.length) body.key_aliases = aliases;
  const r = (await request(ctx, o, 'POST', '/key/delete', body)) as { deleted_keys: string[] };
  const n = r.deleted_keys.length;
  if (ctx.output === 'json') ctx.out.json(r);
  else ctx.out.line(`deleted ${n} key${n === 1 ? '' : 's'}`);
  return 0;
};
