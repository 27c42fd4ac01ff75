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
function guarded(
  fn: (g: Governance, c: ManagementCall) => Promise<unknown>,
): (g: Governance, c: ManagementCall) => Promise<unknown> {
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

/** /key/* */
export const KEY_ROUTES: ManagementRoute<Governance>[] = [
  {
    method: 'POST',
    path: '/key/generate',
    access: 'any',
    handle: guarded((g, c) => generateKey(g, callerOf(c.principal, g), c.body)),
  },
  {
    method: 'POST',
    path: '/key/update',
    access: 'any',
    handle: guarded((g, c) => updateKey(g, callerOf(c.principal, g), c.body)),
  },
  {
    method: 'POST',
    path: '/key/delete',
    access: 'any',
    handle: guarded((g, c) => deleteKeys(g, callerOf(c.principal, g), c.body)),
  },
  {
    method: 'GET',
    path: '/key/info',
    access: 'any',
    handle: guarded((g, c) => keyInfo(g, callerOf(c.principal, g), c.query)),
  },
  {
    method: 'GET',
    path: '/key/list',
    access: 'any',
    handle: guarded((g, c) => listKeys(g, callerOf(c.principal, g), c.query)),
  },
  {
    method: 'POST',
    path: '/key/block',
    access: 'admin',
    handle: guarded((g, c) => setBlocked(g, callerOf(c.principal, g), c.body, true)),
  },
  {
    method: 'POST',
    path: '/key/unblock',
    access: 'admin',
    handle: guarded((g, c) => setBlocked(g, callerOf(c.principal, g), c.body, false)),
  },
  {
    method: 'POST',
    path: '/key/regenerate',
    access: 'any',
    handle: guarded((g, c) => regenerateKey(g, callerOf(c.principal, g), c.body, undefined)),
  },
  {
    method: 'POST',
    path: '/key/{key_id}/regenerate',
    access: 'any',
    handle: guarded((g, c) => regenerateKey(g, callerOf(c.principal, g), c.body, c.params.key_id)),
  },
];
