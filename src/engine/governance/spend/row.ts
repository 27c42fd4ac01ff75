/**
 * One settled event as the spend store sees it: its `spend_logs` row and the daily rollup rows it adds to.
 * Pure functions of the event (no I/O): the writer queues what they return.
 */
import { callTypeOf, routeOf, type SettledEvent } from '../../observability/settled.js';
import type { JsonObject } from '../../wire.js';
import type { DailySpendTable, NewSpendLogRow } from '../db/schema.js';

/** The rollup entity types, one row per (type, id, day, key, model, provider, endpoint). */
export const ENTITY_TYPES = ['key', 'user', 'team', 'end_user', 'tag', 'model', 'org'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

const ADDED_COLUMNS = [
  'prompt_tokens',
  'completion_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'spend',
  'api_requests',
  'successful_requests',
  'failed_requests',
] as const;

/** The additive part of a rollup row (what an upsert adds with `+=`). */
export type RollupDelta = Pick<DailySpendTable, (typeof ADDED_COLUMNS)[number]>;

/** A rollup row's identity (the unique constraint's columns, and the model group). */
export type RollupKey = Omit<DailySpendTable, keyof RollupDelta | 'entity_type'> & { entity_type: EntityType };

export type RollupRow = RollupKey & RollupDelta;

/** YYYY-MM-DD (UTC) of an epoch-ms time. */
export function utcDay(ms: number): string {
  // every call of a day asks for the same string: keep the last day's bounds instead of formatting a Date
  if (ms >= dayStart && ms < dayStart + DAY_MS) return dayText;
  dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
  dayText = new Date(dayStart).toISOString().slice(0, 10);
  return dayText;
}
const DAY_MS = 86_400_000;
let dayStart = Number.NaN;
let dayText = '';

/** The key an event is charged to: the virtual key's hash, the master key's, '' for anonymous calls. */
export function keyOf(e: SettledEvent, masterKeyHash: string): string {
  const p = e.principal;
  if (p.keyHash) return p.keyHash;
  return p.kind === 'master' ? masterKeyHash : '';
}

/** The `spend_logs` row of an event. `content`: keep the request's messages and the answer. */
export function spendLogRow(e: SettledEvent, masterKeyHash: string, content: boolean): NewSpendLogRow {
  const p = e.principal;
  const u = e.usage;
  // LiteLLM's spend_logs_metadata (the request's and the x-litellm-spend-logs-metadata header's)
  const extras = e.spendLogsMetadata;
  const metadata = extras ? { ...(e.metadata ?? {}), spend_logs_metadata: extras } : (e.metadata ?? {});
  const start = Math.round(e.startTime);
  const row: NewSpendLogRow = {
    request_id: e.callId,
    call_type: callTypeOf(e),
    api_key: keyOf(e, masterKeyHash),
    principal: p.kind,
    spend: e.responseCost ?? 0,
    total_tokens: u.total || u.prompt + u.completion,
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    cache_read_input_tokens: u.cached,
    cache_creation_input_tokens: u.cacheCreation,
    start_time: start,
    end_time: Math.round(e.endTime),
    request_duration_ms: Math.round(e.durationMs * 1000) / 1000,
    completion_start_time: e.timeToFirstTokenMs === undefined ? null : Math.round(start + e.timeToFirstTokenMs),
    model: e.requestedModel,
    model_id: e.deploymentId ?? null,
    model_group: e.modelGroup ?? null,
    custom_llm_provider: e.provider ?? null,
    api_base: e.apiBase ?? null,
    user_id: p.userId ?? null,
    team_id: p.teamId ?? null,
    organization_id: p.orgId ?? null,
    end_user: p.endUserId ?? null,
    key_alias: p.keyAlias ?? null,
    metadata: JSON.stringify(metadata),
    request_tags: JSON.stringify(e.tags),
    cache_hit: e.cacheHit ? 1 : 0,
    status: e.status,
    http_status: e.httpStatus,
    messages: null,
    response: null,
    session_id: sessionOf(e.metadata),
  };
  if (content) {
    const msgs = e.request?.messages ?? e.request?.prompt ?? e.request?.input;
    row.messages = msgs === undefined ? null : JSON.stringify(msgs);
    row.response = e.response === undefined ? null : JSON.stringify(e.response);
  }
  return row;
}

function sessionOf(meta: JsonObject | undefined): string | null {
  const s = meta?.session_id ?? meta?.litellm_session_id;
  return typeof s === 'string' ? s : null;
}

/** What every rollup row of one event shares (everything but the entity), and its identity as a string. */
export interface RollupBase extends Omit<RollupRow, 'entity_type' | 'entity_id'> {}

/**
 * Call `add` once per rollup row an event adds to: key, user, team, end user and org rows for every call
 * (entity id '' when the call had none: "Unassigned" in reports), one tag row per tag, and the model row keyed
 * by the model group (the requested model when nothing was routed). `id` identifies the row (the merge map's
 * key); `base` is shared by all of the event's rows (callers copy it when they keep it). Nothing is
 * allocated per row: at thousands of calls a second the rows of a batch mostly merge into a few.
 */
export function forEachRollup(
  e: SettledEvent,
  masterKeyHash: string,
  add: (id: string, entityType: EntityType, entityId: string, base: RollupBase) => void,
): void {
  const u = e.usage;
  const ok = e.status === 'success';
  const base: RollupBase = {
    date: utcDay(e.startTime),
    api_key: keyOf(e, masterKeyHash),
    model: e.requestedModel,
    model_group: e.modelGroup ?? '',
    custom_llm_provider: e.provider ?? '',
    endpoint: routeOf(e),
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    cache_read_input_tokens: u.cached,
    cache_creation_input_tokens: u.cacheCreation,
    spend: e.responseCost ?? 0,
    api_requests: 1,
    successful_requests: ok ? 1 : 0,
    failed_requests: ok ? 0 : 1,
  };
  forEachEntity(base, e.principal, e.modelGroup ?? e.requestedModel, e.tags, add);
}

/** Whom a call's rollups are for: the principal's fields (a settled event) or a spend-log row's. */
export interface RollupEntities {
  userId?: string | null;
  teamId?: string | null;
  endUserId?: string | null;
  orgId?: string | null;
}

/**
 * The rollup rows one call adds to, given what they share (`base`): key, user, team, end user, org, model
 * (`modelEntity`: the group, else the requested model) and one per tag; '' for an entity the call had none
 * of. The one list of entities: the spend writer (settled events) and the LiteLLM import (its spend logs)
 * both enumerate through here.
 */
export function forEachEntity(
  base: RollupBase,
  who: RollupEntities,
  modelEntity: string,
  tags: Iterable<string>,
  add: (id: string, entityType: EntityType, entityId: string, base: RollupBase) => void,
): void {
  // the unique constraint's columns after the entity, once per call (NUL never occurs in them)
  const tail = `\0${base.date}\0${base.api_key}\0${base.model}\0${base.custom_llm_provider}\0${base.endpoint}`;
  const one = (t: EntityType, id: string) => add(`${t}\0${id}${tail}`, t, id, base);
  one('key', base.api_key);
  one('user', who.userId ?? '');
  one('team', who.teamId ?? '');
  one('end_user', who.endUserId ?? '');
  one('org', who.orgId ?? '');
  one('model', modelEntity);
  for (const t of tags) one('tag', t);
}

/** A rollup row's identity as one string, the same `forEachRollup` gives (a merge map's key). */
export function rollupId(r: RollupKey | DailySpendTable): string {
  const tail = `\0${r.date}\0${r.api_key}\0${r.model}\0${r.custom_llm_provider}\0${r.endpoint}`;
  return `${r.entity_type}\0${r.entity_id}${tail}`;
}

/** The columns an upsert adds onto (`x = x + excluded.x`). */
export const ROLLUP_SUMS: readonly (keyof RollupDelta)[] = ADDED_COLUMNS;

/** Add `d`'s counters onto `into`. */
export function addDelta(into: RollupDelta, d: RollupDelta): void {
  // written out (ADDED_COLUMNS' order): once per rollup row of every call, a loop over keys costs more
  into.prompt_tokens += d.prompt_tokens;
  into.completion_tokens += d.completion_tokens;
  into.cache_read_input_tokens += d.cache_read_input_tokens;
  into.cache_creation_input_tokens += d.cache_creation_input_tokens;
  into.spend += d.spend;
  into.api_requests += d.api_requests;
  into.successful_requests += d.successful_requests;
  into.failed_requests += d.failed_requests;
}
