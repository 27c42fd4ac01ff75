/**
 * The governance seams (virtual keys, teams, budgets, spend). Three pieces meet here:
 * - authentication turns a presented key into a Principal whose `record` holds the rows it was found with;
 * - admission runs once per inference request, after its body is read and before routing: model access,
 *   budgets (reserving the most the call can cost), rate limits; it answers a ticket the response writer
 *   settles with the request's settled event (reconcile the reservation, free the parallel slot, count tokens);
 * - management routes (`/key/*`, `/team/*`, `/spend/*`, ...) are plain handlers over the store.
 * docs/governance.md describes the whole.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { SettledEndpoint, SettledEvent } from '../observability/settled.js';
import type { JsonObject } from '../wire.js';
import type { BudgetTarget } from './budgets/targets.js';
import type { BudgetRow, KeyRow, OrganizationRow, TeamMemberRow, TeamRow, UserRole, UserRow } from './db/schema.js';

/**
 * What authentication found for a virtual key, read in one go and cached (TTL) by the authenticator.
 * Rows are as stored (JSON columns still text; see schema.ts `parseJson`); `budgets` holds every budget row
 * the others point at (key.budget_id, membership.budget_id, org.budget_id).
 */
export interface AuthRecord {
  key: KeyRow;
  team?: TeamRow;
  user?: UserRow;
  /** the key's user's membership in the key's team (team keys with a user) */
  membership?: TeamMemberRow;
  org?: OrganizationRow;
  budgets: ReadonlyMap<string, BudgetRow>;
  /** epoch ms when it was read (the cache's age) */
  loadedAt: number;
}

/** A principal as governance sees it: role and record set for virtual keys; the master key is proxy_admin. */
export interface GovernedPrincipal extends Principal {
  role?: UserRole;
  record?: AuthRecord;
}

/** One inference request as admission sees it (the body is already parsed; nothing is parsed again). */
export interface AdmitRequest {
  endpoint: SettledEndpoint;
  /** the model the client named (before aliases and access groups are resolved) */
  model: string;
  body: JsonObject;
  headers: IncomingHttpHeaders;
  /** the end user: x-litellm-customer-id, x-litellm-end-user-id, else the body's `user` */
  endUserId?: string;
}

/**
 * What an admitted request holds until it settles. `settle` is called exactly once, synchronously, by the
 * response writer with the request's settled event (success, failure or client abort); it must not block:
 * database writes it causes are queued and batched.
 */
export interface AdmitTicket {
  settle(event: SettledEvent): void;
  /** response headers for this request (the key's `x-ratelimit-*`); the writer adds them to the answer */
  readonly headers?: Readonly<Record<string, string | number>>;
}

/** Admission: throws a GatewayError (LiteLLM's types and statuses) to refuse; undefined: nothing to settle. */
export interface Admission {
  admit(p: GovernedPrincipal, req: AdmitRequest): AdmitTicket | undefined | Promise<AdmitTicket | undefined>;
  /**
   * For a call that is not priced (a pass-through call the engine does not read): refuse it, as admission
   * would, when a budget of the caller's (key, user, team, org, proxy-wide) is already spent. Reserves nothing.
   */
  checkBudgets?(p: GovernedPrincipal): void | Promise<void>;
}

/** Who may call a management route. */
export type RouteAccess =
  /** proxy_admin (the master key included) only */
  | 'admin'
  /** proxy_admin and proxy_admin_viewer (read-only views of everything) */
  | 'admin_read'
  /** any authenticated principal; the handler narrows to what the caller owns (internal users and their keys) */
  | 'any';

/** One management call, parsed: the body for POST (an object, `{}` when empty), the query string for GET. */
export interface ManagementCall {
  principal: GovernedPrincipal;
  body: JsonObject;
  query: URLSearchParams;
  /** path parameters (`/key/{key_id}/regenerate` -> `{key_id}`) */
  params: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
}

/**
 * A management route. `path` may hold `{name}` segments. The handler returns the JSON to send with 200, or
 * throws a GatewayError (400 for bad input naming the field, 404 for an unknown id, 403 for a role refused).
 */
export interface ManagementRoute<G = unknown> {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  access: RouteAccess;
  handle(g: G, call: ManagementCall): Promise<unknown>;
}

/**
 * What the alerts hear from governance (src/engine/observability/alerts/, docs/governance-alerts.md). Set on the
 * runtime when `general_settings.alerting` is on; each call only queues (it may run inside a budget transaction)
 * and never throws.
 */
export interface GovernanceAlertHooks {
  /**
   * A reservation found `target` at or over its max budget (`max`: the call is refused) or took it across its
   * soft budget (`soft`); `spend` as the ledger counts it, `window` the row's `budget_reset_at` (null: none)
   */
  budget(kind: 'max' | 'soft', target: BudgetTarget, spend: number, window: number | null): void;
  /**
   * `/key/generate` stored a key (the row holds the hash and `sk-...last4`, never the key); `by` is who made it,
   * as `created_by` records it (`default_user_id` for the master key)
   */
  keyCreated(row: KeyRow, caller: { by: string; role: UserRole }): void;
}
