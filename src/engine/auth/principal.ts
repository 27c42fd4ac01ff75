import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from '../wire.js';

/** Who is calling: what authentication found, carried by the request to the router, the attempt and every log line. */
export interface Principal {
  /** master: the proxy's master key; virtual_key: a key from the store; anonymous: no auth configured */
  kind: 'master' | 'virtual_key' | 'anonymous';
  /** sha256 hex of the presented key (LiteLLM's `token` / `api_key` in spend logs); never the key itself */
  keyHash?: string;
  keyAlias?: string;
  userId?: string;
  teamId?: string;
  /** the end user the call is for (body `user`, or the customer header), set per request */
  endUserId?: string;
  orgId?: string;
  /** model names or groups this principal may call; undefined means every model */
  models?: readonly string[];
  /** limits that hold for this principal (rpm, tpm, parallel requests, budget in USD) */
  limits?: Readonly<{ rpm?: number; tpm?: number; maxParallelRequests?: number; maxBudget?: number }>;
  metadata?: Readonly<JsonObject>;
}

/**
 * Turns a request's headers into a principal, or throws a 401 GatewayError. May be async (a store
 * lookup); implementations cache what they must so the hot path stays synchronous when it can.
 */
export interface Authenticator {
  /** false when every request passes as anonymous (no master key configured) */
  readonly enabled: boolean;
  /** a short name for the start-up log (`master_key`) */
  readonly name: string;
  authenticate(headers: IncomingHttpHeaders): Principal | Promise<Principal>;
}

/** The principal of every request when no auth is configured (one frozen object, no per-request allocation). */
export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' as const });

/** The end user a request body names: OpenAI's `user`, else `metadata.user_id` (Anthropic's); undefined if none. */
export function endUserOf(body: JsonObject | undefined): string | undefined {
  if (!body) return undefined;
  const u = body.user;
  if (typeof u === 'string') return u !== '' ? u : undefined;
  const m = body.metadata as JsonObject | undefined;
  const id = m && typeof m === 'object' ? m.user_id : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** `p` on behalf of `endUser` for one request: a derived object only when there is one (`p` is shared, frozen). */
export function forEndUser(p: Principal, endUser: string | undefined): Principal {
  return endUser === undefined || endUser === p.endUserId ? p : Object.freeze({ ...p, endUserId: endUser });
}

/** Fields of a principal for a log line (no secrets: the key hash is cut to 12 characters). */
export function principalFields(p: Principal): Record<string, string> {
  const out: Record<string, string> = { principal: p.kind };
  if (p.keyHash) out.key = p.keyHash.slice(0, 12);
  if (p.keyAlias) out.key_alias = p.keyAlias;
  if (p.userId) out.user = p.userId;
  if (p.teamId) out.team = p.teamId;
  if (p.endUserId) out.end_user = p.endUserId;
  return out;
}
