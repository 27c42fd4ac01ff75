/**
 * LiteLLM's rows (as node-postgres reads them: Postgres arrays as arrays, Json parsed, DateTime as epoch ms)
 * to ours. Pure functions: the same source row always maps to the same row, which is what makes a re-run
 * of the import an upsert of identical values. Where LiteLLM keeps a field in `metadata` that we keep in a
 * column (tags, model_rpm_limit, model_tpm_limit, the team's member budget), it is read from there too.
 */
import type { Insertable } from 'kysely';
import type {
  BudgetsTable,
  DailySpendTable,
  DeprecatedKeysTable,
  EndUsersTable,
  KeysTable,
  NewSpendLogRow,
  OrganizationsTable,
  TeamMembersTable,
  TeamsTable,
  UserRole,
  UsersTable,
} from '../db/schema.js';
import type { SourceRow } from './source.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
};
const ms = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool01 = (v: unknown): number => (v === true || v === 'true' || v === 't' ? 1 : 0);
/** A Postgres `String[]` (or a Json array): the strings in it. */
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
/** A Json column as our JSON text, falling back when LiteLLM's holds something of another shape. */
const jsonObj = (v: unknown): string => JSON.stringify(obj(v));
const jsonList = (v: unknown): string => JSON.stringify(strings(v));

/** `{model: n}` from LiteLLM's metadata.model_rpm_limit / model_tpm_limit (non-numbers dropped). */
function perModel(v: unknown): string {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(obj(v))) {
    const n = num(x);
    if (n !== null) out[k] = n;
  }
  return JSON.stringify(out);
}

function budgetColumns(r: SourceRow) {
  return {
    max_budget: num(r.max_budget),
    soft_budget: num(r.soft_budget),
    budget_duration: str(r.budget_duration),
    budget_reset_at: ms(r.budget_reset_at),
    tpm_limit: num(r.tpm_limit),
    rpm_limit: num(r.rpm_limit),
    max_parallel_requests: num(r.max_parallel_requests),
  };
}

/** `LiteLLM_VerificationToken` -> keys. The token is already the sha256 hex of the key: it carries over as is. */
export function keyRow(r: SourceRow, now: number): Insertable<KeysTable> {
  const meta = obj(r.metadata);
  const token = String(r.token);
  const created = ms(r.created_at) ?? now;
  return {
    token,
    // LiteLLM leaves it null under DISABLE_KEY_NAME; the hash's tail would look like the key's, so say nothing
    key_name: str(r.key_name) ?? 'sk-...',
    key_alias: str(r.key_alias),
    user_id: str(r.user_id),
    team_id: str(r.team_id),
    organization_id: str(r.organization_id),
    models: jsonList(r.models),
    aliases: jsonObj(r.aliases),
    metadata: JSON.stringify(meta),
    tags: jsonList(meta.tags),
    blocked: bool01(r.blocked),
    expires: ms(r.expires),
    spend: num(r.spend) ?? 0,
    model_max_budget: jsonObj(r.model_max_budget),
    model_rpm_limit: perModel(meta.model_rpm_limit),
    model_tpm_limit: perModel(meta.model_tpm_limit),
    budget_id: str(r.budget_id),
    key_type: KEY_TYPES.has(String(meta.key_type)) ? String(meta.key_type) : 'default',
    allowed_cache_controls: jsonList(r.allowed_cache_controls),
    ...budgetColumns(r),
    // keys have no soft_budget column in LiteLLM (it lives in the key's budget_id row)
    soft_budget: null,
    created_at: created,
    created_by: str(r.created_by),
    updated_at: ms(r.updated_at) ?? created,
    updated_by: str(r.updated_by),
    last_active: ms(r.last_active),
  };
}
const KEY_TYPES = new Set(['llm_api', 'management', 'read_only', 'default']);

/** `LiteLLM_DeprecatedVerificationToken` -> deprecated_keys (an old hash valid until revoke_at). */
export function deprecatedKeyRow(r: SourceRow, now: number): Insertable<DeprecatedKeysTable> {
  return {
    token: String(r.token),
    active_token: String(r.active_token_id),
    revoke_at: ms(r.revoke_at) ?? now,
    created_at: ms(r.created_at) ?? now,
  };
}

const ROLES = new Set<UserRole>([
  'proxy_admin',
  'proxy_admin_viewer',
  'org_admin',
  'internal_user',
  'internal_user_viewer',
  'team',
  'customer',
]);

/** `LiteLLM_UserTable` -> users (a missing or unknown role becomes internal_user, LiteLLM's default). */
export function userRow(r: SourceRow, now: number): Insertable<UsersTable> {
  const created = ms(r.created_at) ?? now;
  const role = String(r.user_role) as UserRole;
  return {
    user_id: String(r.user_id),
    user_alias: str(r.user_alias),
    user_email: str(r.user_email),
    user_role: ROLES.has(role) ? role : 'internal_user',
    organization_id: str(r.organization_id),
    models: jsonList(r.models),
    metadata: jsonObj(r.metadata),
    spend: num(r.spend) ?? 0,
    model_max_budget: jsonObj(r.model_max_budget),
    ...budgetColumns(r),
    soft_budget: null,
    created_at: created,
    updated_at: ms(r.updated_at) ?? created,
  };
}

/** The `team_member_*` settings LiteLLM keeps in a team's metadata (our `member_defaults`). */
const MEMBER_DEFAULTS = [
  'team_member_budget_id',
  'team_member_budget',
  'team_member_budget_duration',
  'team_member_rpm_limit',
  'team_member_tpm_limit',
  'team_member_key_duration',
];

/** `LiteLLM_TeamTable` -> teams. */
export function teamRow(r: SourceRow, now: number): Insertable<TeamsTable> {
  const meta = obj(r.metadata);
  const defaults: Obj = {};
  for (const k of MEMBER_DEFAULTS) if (meta[k] !== undefined && meta[k] !== null) defaults[k] = meta[k];
  const created = ms(r.created_at) ?? now;
  return {
    team_id: String(r.team_id),
    team_alias: str(r.team_alias),
    organization_id: str(r.organization_id),
    models: jsonList(r.models),
    metadata: JSON.stringify(meta),
    tags: jsonList(meta.tags),
    blocked: bool01(r.blocked),
    spend: num(r.spend) ?? 0,
    model_max_budget: jsonObj(r.model_max_budget),
    model_rpm_limit: perModel(meta.model_rpm_limit),
    model_tpm_limit: perModel(meta.model_tpm_limit),
    member_defaults: JSON.stringify(defaults),
    ...budgetColumns(r),
    created_at: created,
    updated_at: ms(r.updated_at) ?? created,
  };
}

/**
 * A team's members: the union of `members_with_roles` (who is in the team, with their role) and
 * `LiteLLM_TeamMembership` (their spend and budget inside it). `memberships` are that team's rows.
 */
export function teamMemberRows(team: SourceRow, memberships: SourceRow[], now: number): Insertable<TeamMembersTable>[] {
  const teamId = String(team.team_id);
  const created = ms(team.created_at) ?? now;
  const out = new Map<string, Insertable<TeamMembersTable>>();
  const listed = Array.isArray(team.members_with_roles) ? team.members_with_roles : [];
  for (const m of listed) {
    if (!isObj(m)) continue;
    const userId = str(m.user_id);
    // LiteLLM lets a member be named by email alone; without a user id there is nothing to join a key to
    if (!userId) continue;
    const role = m.role === 'admin' ? 'admin' : 'user';
    out.set(userId, { team_id: teamId, user_id: userId, role, spend: 0, budget_id: null, created_at: created });
  }
  for (const ms_ of memberships) {
    const userId = String(ms_.user_id);
    const have = out.get(userId);
    out.set(userId, {
      team_id: teamId,
      user_id: userId,
      role: have?.role ?? 'user',
      spend: num(ms_.spend) ?? 0,
      budget_id: str(ms_.budget_id),
      created_at: created,
    });
  }
  return [...out.values()];
}

/** `LiteLLM_BudgetTable` -> budgets. */
export function budgetRow(r: SourceRow, now: number): Insertable<BudgetsTable> {
  const created = ms(r.created_at) ?? now;
  return {
    budget_id: String(r.budget_id),
    ...budgetColumns(r),
    model_max_budget: jsonObj(r.model_max_budget),
    created_at: created,
    created_by: str(r.created_by),
    updated_at: ms(r.updated_at) ?? created,
    updated_by: str(r.updated_by),
  };
}

/** `LiteLLM_EndUserTable` -> end_users (LiteLLM keeps no times on it: the import's time stands in). */
export function endUserRow(r: SourceRow, now: number): Insertable<EndUsersTable> {
  return {
    user_id: String(r.user_id),
    alias: str(r.alias),
    spend: num(r.spend) ?? 0,
    budget_id: str(r.budget_id),
    blocked: bool01(r.blocked),
    allowed_model_region: str(r.allowed_model_region),
    default_model: str(r.default_model),
    metadata: '{}',
    budget_reset_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** `LiteLLM_OrganizationTable` -> organizations. */
export function orgRow(r: SourceRow, now: number): Insertable<OrganizationsTable> {
  const created = ms(r.created_at) ?? now;
  return {
    organization_id: String(r.organization_id),
    organization_alias: str(r.organization_alias),
    budget_id: str(r.budget_id),
    models: jsonList(r.models),
    metadata: jsonObj(r.metadata),
    spend: num(r.spend) ?? 0,
    budget_reset_at: null,
    created_at: created,
    updated_at: ms(r.updated_at) ?? created,
  };
}

/** LiteLLM's call types -> the route our rollups name in `endpoint`. */
const ROUTE_OF: Record<string, string> = {
  acompletion: '/v1/chat/completions',
  completion: '/v1/chat/completions',
  atext_completion: '/v1/completions',
  text_completion: '/v1/completions',
  aembedding: '/v1/embeddings',
  embedding: '/v1/embeddings',
  anthropic_messages: '/v1/messages',
};

export function routeOf(callType: string): string {
  return ROUTE_OF[callType] ?? '';
}

/** LiteLLM stores `{}` in messages/response when prompts are not kept: that is "nothing", not an object. */
const content = (v: unknown): string | null =>
  v === null || v === undefined || (isObj(v) && Object.keys(v).length === 0) ? null : JSON.stringify(v);

/** `LiteLLM_SpendLogs` -> spend_logs. */
export function spendLogRow(r: SourceRow): NewSpendLogRow {
  const meta = obj(r.metadata);
  const start = ms(r.startTime) ?? 0;
  const end = ms(r.endTime) ?? start;
  const prompt = num(r.prompt_tokens) ?? 0;
  const completion = num(r.completion_tokens) ?? 0;
  const apiKey = typeof r.api_key === 'string' ? r.api_key : '';
  const status = str(r.status) ?? 'success';
  const usage = obj(meta.usage_object);
  const details = obj(usage.prompt_tokens_details);
  return {
    request_id: String(r.request_id),
    call_type: String(r.call_type ?? ''),
    api_key: apiKey,
    principal: apiKey ? 'virtual_key' : 'anonymous',
    spend: num(r.spend) ?? 0,
    total_tokens: num(r.total_tokens) ?? prompt + completion,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cache_read_input_tokens: num(details.cached_tokens) ?? num(usage.cache_read_input_tokens) ?? 0,
    cache_creation_input_tokens: num(usage.cache_creation_input_tokens) ?? 0,
    start_time: start,
    end_time: end,
    request_duration_ms: num(r.request_duration_ms) ?? end - start,
    completion_start_time: ms(r.completionStartTime),
    model: String(r.model ?? ''),
    model_id: str(r.model_id),
    model_group: str(r.model_group),
    custom_llm_provider: str(r.custom_llm_provider),
    api_base: str(r.api_base),
    user_id: str(r.user),
    team_id: str(r.team_id),
    organization_id: str(r.organization_id),
    end_user: str(r.end_user),
    key_alias: str(meta.user_api_key_alias),
    metadata: JSON.stringify(meta),
    request_tags: jsonList(r.request_tags),
    cache_hit: r.cache_hit === true || String(r.cache_hit).toLowerCase() === 'true' ? 1 : 0,
    status,
    // LiteLLM keeps no HTTP status on the row: a failure's is in its error metadata when it was recorded
    http_status: status === 'success' ? 200 : (num(obj(meta.error_information).error_code) ?? 500),
    messages: content(r.messages),
    response: content(r.response),
    session_id: str(r.session_id),
  };
}

/**
 * A `LiteLLM_Daily*Spend` row -> a daily_spend row of `entityType` (its id from `idColumn`); undefined for
 * a row without a date. LiteLLM's rows are also split by MCP tool name, ours are not: callers add up rows
 * that land on the same identity.
 */
export function dailyRow(r: SourceRow, entityType: string, idColumn: string): DailySpendTable | undefined {
  const date = str(r.date);
  if (!date) return undefined;
  return {
    entity_type: entityType,
    entity_id: str(r[idColumn]) ?? '',
    date: date.slice(0, 10),
    api_key: str(r.api_key) ?? '',
    model: str(r.model) ?? '',
    model_group: str(r.model_group) ?? '',
    custom_llm_provider: str(r.custom_llm_provider) ?? '',
    endpoint: str(r.endpoint) ?? '',
    prompt_tokens: num(r.prompt_tokens) ?? 0,
    completion_tokens: num(r.completion_tokens) ?? 0,
    cache_read_input_tokens: num(r.cache_read_input_tokens) ?? 0,
    cache_creation_input_tokens: num(r.cache_creation_input_tokens) ?? 0,
    spend: num(r.spend) ?? 0,
    api_requests: num(r.api_requests) ?? 0,
    successful_requests: num(r.successful_requests) ?? 0,
    failed_requests: num(r.failed_requests) ?? 0,
  };
}
