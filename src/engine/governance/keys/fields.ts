/**
 * The fields of /key/generate, /key/update and /key/regenerate bodies (LiteLLM's GenerateKeyRequest names),
 * checked and turned into column values. Only fields present in the body are returned, so an update changes
 * what was sent and nothing else. Bad values are a 400 naming the field; fields LiteLLM accepts that do not
 * apply here (send_invite_email, permissions, guardrails, ...) are ignored, as a LiteLLM client may send them.
 */
import { badRequest } from '../../errors.js';
import type { JsonObject } from '../../wire.js';
import { nextResetAt, parseBudgetDuration } from '../budgets/reset.js';
import type { KeyUpdate } from '../db/schema.js';
import { addDuration, parseDuration } from './duration.js';

export const KEY_TYPES = ['llm_api', 'management', 'read_only', 'default'] as const;

/** The per-request controls of the response cache (LiteLLM's DynamicCacheControl), for `allowed_cache_controls`. */
const CACHE_CONTROLS = ['no-cache', 'no-store', 'ttl', 's-maxage', 's-max-age', 'namespace', 'use-cache'];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function money(body: JsonObject, name: string): number | null | undefined {
  const v = body[name];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw badRequest(`${name} must be a non-negative finite number. Received: ${JSON.stringify(v)}`, name);
  return v;
}

function count(body: JsonObject, name: string): number | null | undefined {
  const v = body[name];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw badRequest(`${name} must be a non-negative integer. Received: ${JSON.stringify(v)}`, name);
  return v;
}

function text(body: JsonObject, name: string): string | null | undefined {
  const v = body[name];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string' || v === '') throw badRequest(`${name} must be a non-empty string.`, name);
  return v;
}

function strings(body: JsonObject, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw badRequest(`${name} must be a list of strings. Received: ${JSON.stringify(v)}`, name);
  return v as string[];
}

function object(body: JsonObject, name: string, check?: (k: string, v: unknown) => boolean): JsonObject | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || (check && !Object.entries(v).every(([k, x]) => check(k, x))))
    throw badRequest(`${name} must be ${check ? OBJECT_SHAPES[name] : 'an object'}.`, name);
  return v;
}

const OBJECT_SHAPES: Record<string, string> = {
  aliases: 'an object of {alias: model name}',
  model_max_budget: 'an object of {model: {budget_limit: number, time_period?: "1d"}}',
  model_rpm_limit: 'an object of {model: non-negative integer}',
  model_tpm_limit: 'an object of {model: non-negative integer}',
};

const perModelCount = (_k: string, v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function duration(body: JsonObject, name: string): string | null | undefined {
  const v = text(body, name);
  if (typeof v === 'string' && !parseDuration(v))
    throw badRequest(`${name} must be a duration such as "30s", "30m", "30h", "30d" or "1mo". Received: "${v}"`, name);
  return v;
}

/**
 * The columns a body sets, at `now`. `duration` sets `expires` (null: never); `budget_duration` sets the next
 * aligned `budget_reset_at`.
 */
export function keyColumns(body: JsonObject, now: number, timezone = 'UTC'): KeyUpdate {
  const out: KeyUpdate = {};
  const set = <K extends keyof KeyUpdate>(k: K, v: KeyUpdate[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('key_alias', text(body, 'key_alias'));
  set('user_id', text(body, 'user_id'));
  set('team_id', text(body, 'team_id'));
  set('organization_id', text(body, 'organization_id'));
  set('budget_id', text(body, 'budget_id'));
  const models = strings(body, 'models');
  if (models) out.models = JSON.stringify(models);
  const tags = strings(body, 'tags');
  if (tags) out.tags = JSON.stringify(tags);
  const aliases = object(body, 'aliases', (_k, v) => typeof v === 'string');
  if (aliases) out.aliases = JSON.stringify(aliases);
  const metadata = object(body, 'metadata');
  if (metadata) out.metadata = JSON.stringify(metadata);
  const controls = strings(body, 'allowed_cache_controls');
  if (controls) {
    const bad = controls.find((c) => !CACHE_CONTROLS.includes(c));
    if (bad !== undefined)
      throw badRequest(
        `allowed_cache_controls: "${bad}" is not a cache control (expected some of ${CACHE_CONTROLS.join(', ')}).`,
        'allowed_cache_controls',
      );
    out.allowed_cache_controls = JSON.stringify(controls);
  }
  const mmb = object(
    body,
    'model_max_budget',
    (_k, v) =>
      isObject(v) &&
      typeof v.budget_limit === 'number' &&
      Number.isFinite(v.budget_limit) &&
      v.budget_limit >= 0 &&
      (v.time_period === undefined || (typeof v.time_period === 'string' && !!parseDuration(v.time_period))),
  );
  if (mmb) out.model_max_budget = JSON.stringify(mmb);
  const mrpm = object(body, 'model_rpm_limit', perModelCount);
  if (mrpm) out.model_rpm_limit = JSON.stringify(mrpm);
  const mtpm = object(body, 'model_tpm_limit', perModelCount);
  if (mtpm) out.model_tpm_limit = JSON.stringify(mtpm);
  set('max_budget', money(body, 'max_budget'));
  set('soft_budget', money(body, 'soft_budget'));
  set('spend', money(body, 'spend') ?? undefined);
  set('tpm_limit', count(body, 'tpm_limit'));
  set('rpm_limit', count(body, 'rpm_limit'));
  set('max_parallel_requests', count(body, 'max_parallel_requests'));
  const bd = duration(body, 'budget_duration');
  if (bd && !parseBudgetDuration(bd))
    throw badRequest(
      `budget_duration must be a window such as "30s", "30m", "1h", "1d", "7d", "30d" or "1mo". Received: "${bd}"`,
      'budget_duration',
    );
  if (bd !== undefined) {
    out.budget_duration = bd;
    // aligned as every budget window is (budgets/reset.ts), in litellm_settings.timezone
    out.budget_reset_at = bd === null ? null : nextResetAt(bd, now, timezone);
  }
  const d = duration(body, 'duration');
  if (d !== undefined) out.expires = d === null ? null : addDuration(now, parseDuration(d)!);
  const kt = body.key_type;
  if (kt !== undefined && kt !== null) {
    if (typeof kt !== 'string' || !(KEY_TYPES as readonly string[]).includes(kt))
      throw badRequest(`key_type must be one of ${KEY_TYPES.join(', ')}. Received: ${JSON.stringify(kt)}`, 'key_type');
    out.key_type = kt;
  }
  const blocked = body.blocked;
  if (blocked !== undefined && blocked !== null) {
    if (typeof blocked !== 'boolean') throw badRequest('blocked must be true or false.', 'blocked');
    out.blocked = blocked ? 1 : 0;
  }
  return out;
}

/** A custom key value (`key` on /key/generate, `new_key` on /key/regenerate): LiteLLM requires `sk-`. */
export function customKey(body: JsonObject, name: string): string | undefined {
  const v = text(body, name);
  if (v === null || v === undefined) return undefined;
  if (!v.startsWith('sk-') || v.length < 8)
    throw badRequest(`Invalid ${name} format. LiteLLM Virtual Key must start with 'sk-' (and be 8+ characters).`, name);
  return v;
}
