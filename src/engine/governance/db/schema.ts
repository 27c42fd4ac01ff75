/**
 * The governance store's tables, as Kysely sees them. One schema for SQLite (the embedded default) and
 * Postgres (shared by many engines): portable column types only. Times are epoch milliseconds (`bigint`),
 * money is USD as a double, booleans are 0/1 integers, lists and objects are JSON text (`Json<T>` below
 * names what the text holds; read it with `parseJson`, write it with `JSON.stringify`). Names follow
 * LiteLLM's tables (schema.prisma) where a column means the same, so its clients and an import map 1:1.
 */
import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** JSON text holding a `T` (a branded string: the type says what to parse it as). */
export type Json<T> = string & { readonly __json?: T };

/** Epoch ms; Postgres `bigint` comes back as a number (the pool sets the int8 parser). */
type Ms = number;
/** A row's created/updated time: set by the writer, never by a default the two dialects would disagree on. */
type Stamp = ColumnType<Ms, Ms, Ms>;

/** The roles LiteLLM knows (LitellmUserRoles). */
export type UserRole =
  | 'proxy_admin'
  | 'proxy_admin_viewer'
  | 'org_admin'
  | 'internal_user'
  | 'internal_user_viewer'
  | 'team'
  | 'customer';

/** Budget fields shared by keys, users, teams and the budgets table (LiteLLM's names). */
interface BudgetColumns {
  max_budget: number | null;
  soft_budget: number | null;
  /** `30s`, `1h`, `1d`, `7d`, `30d`, `1mo`: the spend resets at aligned boundaries (see docs/governance.md) */
  budget_duration: string | null;
  /** epoch ms of the next reset; null: never */
  budget_reset_at: Ms | null;
}

/** Limits shared by keys, users, teams and budgets. */
interface LimitColumns {
  tpm_limit: number | null;
  rpm_limit: number | null;
  max_parallel_requests: number | null;
}

/** `LiteLLM_VerificationToken`: one virtual key. The key itself is never stored, only its sha256 hex. */
export interface KeysTable extends BudgetColumns, LimitColumns {
  /** sha256 hex of the key (`token` in LiteLLM; `token_id` / `api_key` in its responses and spend logs) */
  token: string;
  /** `sk-...last4` */
  key_name: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  /** model names, groups or access groups the key may call; `[]`: every model its team/user allows */
  models: Json<string[]>;
  /** `{alias: model}` */
  aliases: Json<Record<string, string>>;
  metadata: Json<Record<string, unknown>>;
  tags: Json<string[]>;
  /** 0/1 */
  blocked: number;
  /** epoch ms after which the key is refused; null: never */
  expires: Ms | null;
  /** USD spent (reservations included while calls are in flight) since the last budget reset */
  spend: number;
  /** `{model: {budget_limit, time_period}}` */
  model_max_budget: Json<Record<string, { budget_limit: number; time_period?: string }>>;
  /** `{model: rpm}` / `{model: tpm}` */
  model_rpm_limit: Json<Record<string, number>>;
  model_tpm_limit: Json<Record<string, number>>;
  /** a row of `budgets` whose limits apply on top */
  budget_id: string | null;
  /** llm_api | management | read_only | default */
  key_type: string;
  /** the response cache's controls (`cache: {...}`) its requests may send; `[]`: all (docs/cache.md) */
  allowed_cache_controls: ColumnType<Json<string[]>, Json<string[]> | undefined, Json<string[]>>;
  created_at: Stamp;
  created_by: string | null;
  updated_at: Stamp;
  updated_by: string | null;
  last_active: Ms | null;
}

/** `LiteLLM_DeprecatedVerificationToken`: an old key hash that still works until `revoke_at` after /key/regenerate. */
export interface DeprecatedKeysTable {
  token: string;
  active_token: string;
  revoke_at: Ms;
  created_at: Stamp;
}

/** `LiteLLM_UserTable`. */
export interface UsersTable extends BudgetColumns, LimitColumns {
  user_id: string;
  user_alias: string | null;
  user_email: string | null;
  user_role: UserRole;
  organization_id: string | null;
  models: Json<string[]>;
  metadata: Json<Record<string, unknown>>;
  spend: number;
  model_max_budget: Json<Record<string, { budget_limit: number; time_period?: string }>>;
  created_at: Stamp;
  updated_at: Stamp;
}

/** `LiteLLM_TeamTable`. Members live in `team_members`. */
export interface TeamsTable extends BudgetColumns, LimitColumns {
  team_id: string;
  team_alias: string | null;
  organization_id: string | null;
  models: Json<string[]>;
  metadata: Json<Record<string, unknown>>;
  tags: Json<string[]>;
  blocked: number;
  spend: number;
  model_max_budget: Json<Record<string, { budget_limit: number; time_period?: string }>>;
  model_rpm_limit: Json<Record<string, number>>;
  model_tpm_limit: Json<Record<string, number>>;
  /** defaults for new members: `team_member_budget` etc. as LiteLLM names them */
  member_defaults: Json<Record<string, unknown>>;
  created_at: Stamp;
  updated_at: Stamp;
}

/** `LiteLLM_TeamMembership` (+ the member's role from `members_with_roles`). */
export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  /** admin | user */
  role: string;
  /** USD this member spent through the team's keys since the membership budget's last reset */
  spend: number;
  /** the member's budget inside the team (`max_budget_in_team`), a `budgets` row */
  budget_id: string | null;
  created_at: Stamp;
}

/** `LiteLLM_BudgetTable`: a reusable budget for end users, memberships, orgs and keys. */
export interface BudgetsTable extends BudgetColumns, LimitColumns {
  budget_id: string;
  model_max_budget: Json<Record<string, { budget_limit: number; time_period?: string }>>;
  created_at: Stamp;
  created_by: string | null;
  updated_at: Stamp;
  updated_by: string | null;
}

/** `LiteLLM_EndUserTable` ("customers": the `user` of a request, or x-litellm-customer-id). */
export interface EndUsersTable {
  user_id: string;
  alias: string | null;
  spend: number;
  budget_id: string | null;
  blocked: number;
  allowed_model_region: string | null;
  default_model: string | null;
  metadata: Json<Record<string, unknown>>;
  /** the end user's own budget reset time (its budget's duration) */
  budget_reset_at: Ms | null;
  created_at: Stamp;
  updated_at: Stamp;
}

/** `LiteLLM_OrganizationTable` (budget through `budget_id`); read by enforcement, managed by import for now. */
export interface OrganizationsTable {
  organization_id: string;
  organization_alias: string | null;
  budget_id: string | null;
  models: Json<string[]>;
  metadata: Json<Record<string, unknown>>;
  spend: number;
  budget_reset_at: Ms | null;
  created_at: Stamp;
  updated_at: Stamp;
}

/** `LiteLLM_SpendLogs`: one row per settled inference request. */
export interface SpendLogsTable {
  request_id: string;
  /** chat | completion | embedding | messages (LiteLLM: acompletion, aembedding, ...) */
  call_type: string;
  /** the key's sha256 hex ('' for the master key's and anonymous calls: see `principal`) */
  api_key: string;
  /** master | virtual_key | anonymous */
  principal: string;
  spend: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  start_time: Ms;
  end_time: Ms;
  request_duration_ms: number;
  completion_start_time: Ms | null;
  /** the model the client asked for */
  model: string;
  model_id: string | null;
  model_group: string | null;
  custom_llm_provider: string | null;
  api_base: string | null;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  end_user: string | null;
  key_alias: string | null;
  metadata: Json<Record<string, unknown>>;
  request_tags: Json<string[]>;
  cache_hit: number;
  /** success | failure | client_abort */
  status: string;
  http_status: number;
  /** only with `store_prompts_in_spend_logs: true` */
  messages: Json<unknown> | null;
  response: Json<unknown> | null;
  session_id: string | null;
}

/**
 * Daily rollups (LiteLLM's Daily{User,Team,Tag,EndUser,...}Spend in one table): what spend reports read
 * instead of scanning the logs. Unique on (entity_type, entity_id, date, api_key, model, custom_llm_provider,
 * endpoint); writers upsert with `+=`.
 */
export interface DailySpendTable {
  /** key | user | team | end_user | tag | model | org */
  entity_type: string;
  entity_id: string;
  /** YYYY-MM-DD (UTC) */
  date: string;
  api_key: string;
  model: string;
  model_group: string;
  custom_llm_provider: string;
  endpoint: string;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  spend: number;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
}

/** Per-entity, per-model spend for `model_max_budget` (LiteLLM keeps it as `model_spend` JSON on each row). */
export interface ModelSpendTable {
  /** key | user | team */
  entity_type: string;
  entity_id: string;
  model: string;
  spend: number;
  budget_reset_at: Ms | null;
}

/**
 * `LiteLLM_ProxyModelTable`: a model added through the model API (`/model/new`) with
 * `general_settings.store_model_in_db`. Credentials in `litellm_params` are encrypted with LITELLM_SALT_KEY
 * (models/credentials.ts): a secret-looking param's value is an `enc:v1:...` string, never the plaintext.
 */
export interface ProxyModelsTable {
  model_id: string;
  model_name: string;
  litellm_params: Json<Record<string, unknown>>;
  model_info: Json<Record<string, unknown>>;
  created_at: Stamp;
  created_by: string | null;
  updated_at: Stamp;
  updated_by: string | null;
}

/** One row (`id` 1): bumped with every change to `proxy_models`, so engines poll one integer to see changes. */
export interface ProxyModelVersionTable {
  id: number;
  version: number;
}

export interface GovernanceTables {
  keys: KeysTable;
  deprecated_keys: DeprecatedKeysTable;
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  budgets: BudgetsTable;
  end_users: EndUsersTable;
  organizations: OrganizationsTable;
  spend_logs: SpendLogsTable;
  daily_spend: DailySpendTable;
  model_spend: ModelSpendTable;
  proxy_models: ProxyModelsTable;
  proxy_model_version: ProxyModelVersionTable;
  responses: ResponsesTable;
}

/** A stored Responses API response (responses/db-store.ts). */
export interface ResponsesTable {
  id: string;
  /** the key hash of the caller that made it (null: no auth) */
  owner: string | null;
  /** the response it continued (`previous_response_id`) */
  previous_id: string | null;
  response: Json<Record<string, unknown>>;
  /** this turn's input items */
  input: Json<Record<string, unknown>[]>;
  created_at: Stamp;
}

export type KeyRow = Selectable<KeysTable>;
export type NewKeyRow = Insertable<KeysTable>;
export type KeyUpdate = Updateable<KeysTable>;
export type UserRow = Selectable<UsersTable>;
export type TeamRow = Selectable<TeamsTable>;
export type TeamMemberRow = Selectable<TeamMembersTable>;
export type BudgetRow = Selectable<BudgetsTable>;
export type EndUserRow = Selectable<EndUsersTable>;
export type OrganizationRow = Selectable<OrganizationsTable>;
export type SpendLogRow = Selectable<SpendLogsTable>;
export type NewSpendLogRow = Insertable<SpendLogsTable>;
export type DailySpendRow = Selectable<DailySpendTable>;
export type ProxyModelRow = Selectable<ProxyModelsTable>;

/** Parse a JSON column (`fallback` when it is null or not valid JSON: a row written by another tool). */
export function parseJson<T>(text: Json<T> | string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
