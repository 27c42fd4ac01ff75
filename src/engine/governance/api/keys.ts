/**
 * /key/* (LiteLLM's paths and bodies). Every authenticated caller reaches the handlers ('any'); they narrow to
 * what the caller owns (internal users: their own keys; viewers: reads). Block and unblock are admin-only.
 */
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
import type { ManagementRoute } from '../types.js';

/** /key/* */
export const KEY_ROUTES: ManagementRoute<Governance>[] = [
  {
    method: 'POST',
    path: '/key/generate',
    access: 'any',
    handle: (g, c) => generateKey(g, callerOf(c.principal, g), c.body),
  },
  {
    method: 'POST',
    path: '/key/update',
    access: 'any',
    handle: (g, c) => updateKey(g, callerOf(c.principal, g), c.body),
  },
  {
    method: 'POST',
    path: '/key/delete',
    access: 'any',
    handle: (g, c) => deleteKeys(g, callerOf(c.principal, g), c.body),
  },
  { method: 'GET', path: '/key/info', access: 'any', handle: (g, c) => keyInfo(g, callerOf(c.principal, g), c.query) },
  { method: 'GET', path: '/key/list', access: 'any', handle: (g, c) => listKeys(g, callerOf(c.principal, g), c.query) },
  {
    method: 'POST',
    path: '/key/block',
    access: 'admin',
    handle: (g, c) => setBlocked(g, callerOf(c.principal, g), c.body, true),
  },
  {
    method: 'POST',
    path: '/key/unblock',
    access: 'admin',
    handle: (g, c) => setBlocked(g, callerOf(c.principal, g), c.body, false),
  },
  {
    method: 'POST',
    path: '/key/regenerate',
    access: 'any',
    handle: (g, c) => regenerateKey(g, callerOf(c.principal, g), c.body, undefined),
  },
  {
    method: 'POST',
    path: '/key/{key_id}/regenerate',
    access: 'any',
    handle: (g, c) => regenerateKey(g, callerOf(c.principal, g), c.body, c.params.key_id),
  },
];
