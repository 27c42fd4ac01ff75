/**
 * /key/* (LiteLLM's paths and bodies). Every authenticated caller reaches the handlers ('any'); they narrow to
 * what the caller owns (internal users: their own keys; viewers: reads). Block and unblock are admin-only.
 */
import { GatewayError } from '../../errors.js';
import type { Governance } from '../governance.js';
import {
  callerOf,
  deleteKeys,
  generateKey,
  keyInfo,
  listKeys,
  regenerateKey,
  setBlocked,
  updateKey,
} from '../keys/manage.js';
import type { ManagementCall, ManagementRoute } from '../types.js';

/**
 * A handler whose store failures become a 503 naming the store and the cause (LiteLLM answers "DB not
 * connected"); its own refusals (GatewayErrors) pass as they are.
 */
function guarded(fn: Handler): Handler {
  return async (g, c) => {
    try {
      return await fn(g, c);
    } catch (e) {
      if (e instanceof GatewayError || !storeFailure(e)) throw e;
      throw new GatewayError(503, {
        message: `the key store at ${g.store.where} cannot be used: ${(e as Error).message}`,
        type: 'no_db_connection',
        code: '503',
        errorClass: 'overloaded',
      });
    }
  };
}

/** A driver error (pg and SQLite errors carry a `code`; a lost pool says so) rather than a bug of ours. */
function storeFailure(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' || /connect|terminat|destroyed|timeout/i.test((e as Error)?.message ?? '');
}

type Handler = (g: Governance, c: ManagementCall) => Promise<unknown>;
const route = (method: 'GET' | 'POST', path: string, access: 'any' | 'admin', fn: Handler) => ({
  method,
  path,
  access,
  handle: guarded(fn),
});

/** /key/* */
export const KEY_ROUTES: ManagementRoute<Governance>[] = [
  route('POST', '/key/generate', 'any', (g, c) => generateKey(g, callerOf(c.principal, g), c.body)),
  route('POST', '/key/update', 'any', (g, c) => updateKey(g, callerOf(c.principal, g), c.body)),
  route('POST', '/key/delete', 'any', (g, c) => deleteKeys(g, callerOf(c.principal, g), c.body)),
  route('GET', '/key/info', 'any', (g, c) => keyInfo(g, callerOf(c.principal, g), c.query)),
  route('GET', '/key/list', 'any', (g, c) => listKeys(g, callerOf(c.principal, g), c.query)),
  route('POST', '/key/block', 'admin', (g, c) => setBlocked(g, callerOf(c.principal, g), c.body, true)),
  route('POST', '/key/unblock', 'admin', (g, c) => setBlocked(g, callerOf(c.principal, g), c.body, false)),
  route('POST', '/key/regenerate', 'any', (g, c) => regenerateKey(g, callerOf(c.principal, g), c.body, undefined)),
  route('POST', '/key/{key_id}/regenerate', 'any', (g, c) =>
    regenerateKey(g, callerOf(c.principal, g), c.body, c.params.key_id),
  ),
];
