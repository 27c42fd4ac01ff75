/**
 * What every people-area handler needs: LiteLLM's error wording and types, readers for request fields that
 * answer 400 naming the field, the caller's role, time and JSON columns shown as LiteLLM shows them, and the
 * first budget reset of a `budget_duration`.
 */

import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { JsonObject } from '../../wire.js';
import { roleOf } from '../api/index.js';
import type { UserRole } from '../db/schema.js';
import { abbreviate, hashKey, newKey } from '../keys/secret.js';
import type { GovernedPrincipal } from '../types.js';

/** 400 `bad_request_error` naming the field (LiteLLM's ProxyErrorTypes). */
export function invalid(param: string, message: string): GatewayError {
  return new GatewayError(400, { message, type: 'bad_request_error', param, code: '400', errorClass: 'bad_request' });
}

/** 404 `not_found_error` with LiteLLM's message for the entity. */
export function notFound(param: string, message: string): GatewayError {
  return new GatewayError(404, { message, type: 'not_found_error', param, code: '404', errorClass: 'not_found' });
}

/** 403 for a caller whose role or membership does not allow the call. */
export function forbidden(message: string): GatewayError {
  return new GatewayError(403, { message, type: 'auth_error', code: '403', errorClass: 'permission' });
}

/** uuid4, LiteLLM's default id for users, teams and budgets. */
export const newId = (): string => randomUUID();

// --- request fields --------------------------------------------------------------------------------------------

/** Whether the body sent `k` at all (null included): update calls change only what was sent. */
export const sent = (o: JsonObject, k: string): boolean => o[k] !== undefined;

/** A string field; undefined when absent, null when sent as null (to clear it). */
export function optString(o: JsonObject, k: string): string | null | undefined {
  const v = o[k];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'string') throw invalid(k, `${k} must be a string. Received: ${JSON.stringify(v)}`);
  return v;
}

/** A required non-empty string. */
export function reqString(o: JsonObject, k: string, message = `${k} is required`): string {
  const v = optString(o, k);
  if (v === undefined || v === null || v === '') throw invalid(k, message);
  return v;
}

/** USD amount: finite and non-negative (LiteLLM's budget check and wording). */
export function optMoney(o: JsonObject, k: string): number | null | undefined {
  const v = o[k];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw invalid(k, `${k} must be a non-negative finite number. Received: ${pyFloat(v)}`);
  return v;
}

/** A number as Python prints a float (LiteLLM's messages come from pydantic floats): -1 -> -1.0, Infinity -> inf. */
function pyFloat(v: unknown): string {
  if (typeof v !== 'number') return JSON.stringify(v);
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** tpm/rpm/parallel limits: non-negative integers. */
export function optCount(o: JsonObject, k: string): number | null | undefined {
  const v = o[k];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw invalid(k, `${k} must be a non-negative integer. Received: ${JSON.stringify(v)}`);
  return v;
}

export function optBool(o: JsonObject, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(k, `${k} must be true or false. Received: ${JSON.stringify(v)}`);
  return v;
}

export function optStringList(o: JsonObject, k: string): string[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw invalid(k, `${k} must be a list of strings. Received: ${JSON.stringify(v)}`);
  return v as string[];
}

export function optObject(o: JsonObject, k: string): Record<string, unknown> | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalid(k, `${k} must be an object. Received: ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

/** `{model: n}` with non-negative integer values (model_rpm_limit / model_tpm_limit). */
export function optCountMap(o: JsonObject, k: string): Record<string, number> | undefined {
  const m = optObject(o, k);
  if (!m) return undefined;
  for (const [model, n] of Object.entries(m))
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw invalid(k, `${k}.${model} must be a non-negative integer. Received: ${JSON.stringify(n)}`);
  return m as Record<string, number>;
}

/** `{model: {budget_limit, time_period}}`; budget_limit non-negative, time_period a duration. */
export function optModelMaxBudget(
  o: JsonObject,
  k: string,
): Record<string, { budget_limit: number; time_period?: string }> | undefined {
  const m = optObject(o, k);
  if (!m) return undefined;
  for (const [model, b] of Object.entries(m)) {
    const e = b as Record<string, unknown> | null;
    const limit = e && typeof e === 'object' ? (e.budget_limit ?? e.max_budget) : undefined;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0)
      throw invalid(
        k,
        `${k}.${model}.budget_limit must be a non-negative finite number. Received: ${JSON.stringify(b)}`,
      );
    const period = e?.time_period ?? e?.budget_duration;
    if (period !== undefined && (typeof period !== 'string' || !DURATION.test(period)))
      throw invalid(
        k,
        `${k}.${model}.time_period must be a duration like 1d or 30d. Received: ${JSON.stringify(period)}`,
      );
  }
  return m as Record<string, { budget_limit: number; time_period?: string }>;
}

// LiteLLM's duration grammar (duration_parser.py): N followed by s, m, h, d, w or mo
const DURATION = /^(\d+)(mo|[smhdw]?)$/;

/** budget_duration: LiteLLM's grammar, and only `1mo` of the month forms (as its reset code allows). */
export function optDuration(o: JsonObject, k: string): string | null | undefined {
  const v = optString(o, k);
  if (v === undefined || v === null) return v;
  const m = DURATION.exec(v.trim());
  if (!m || Number(m[1]) === 0 || (m[2] === 'mo' && m[1] !== '1'))
    throw invalid(k, `${k} must be a duration like 30s, 30m, 1h, 1d, 7d, 30d or 1mo. Received: ${JSON.stringify(v)}`);
  return v.trim();
}

/** The budget and limit columns of a new row that sets none of them (keys, users, teams, budgets). */
export const NO_LIMITS = {
  max_budget: null,
  soft_budget: null,
  budget_duration: null,
  budget_reset_at: null,
  tpm_limit: null,
  rpm_limit: null,
  max_parallel_requests: null,
} as const;

// --- callers ---------------------------------------------------------------------------------------------------

export const isAdmin = (p: GovernedPrincipal): boolean => roleOf(p) === 'proxy_admin';
export const canReadAll = (p: GovernedPrincipal): boolean =>
  roleOf(p) === 'proxy_admin' || roleOf(p) === 'proxy_admin_viewer';
export const roleName = (p: GovernedPrincipal): UserRole | 'none' => roleOf(p) ?? 'none';

/** Who to record in created_by / updated_by: the caller's user, else LiteLLM's admin name. */
export const actor = (p: GovernedPrincipal): string => p.userId ?? 'default_user_id';

// --- output ----------------------------------------------------------------------------------------------------

/** Epoch ms -> ISO 8601 (LiteLLM's DateTime columns); null stays null. */
export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

// --- virtual keys ----------------------------------------------------------------------------------------------

/** A new virtual key as LiteLLM makes one (keys/secret.ts): the key once, its sha256 hex, `sk-...last4`. */
export function newVirtualKey(): { key: string; token: string; keyName: string } {
  const key = newKey();
  return { key, token: hashKey(key), keyName: abbreviate(key) };
}
