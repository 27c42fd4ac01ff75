import { createUser, deleteUsers, listUsers, updateUser, userInfo } from '../entities/users.js';
import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /user/* : proxy admins manage users; viewers read all; anyone else reads only their own /user/info. */
export const USER_ROUTES: ManagementRoute<Governance>[] = [
  { method: 'POST', path: '/user/new', access: 'admin', handle: (g, c) => createUser(g, c.principal, c.body) },
  { method: 'POST', path: '/user/update', access: 'admin', handle: (g, c) => updateUser(g, c.body) },
  { method: 'POST', path: '/user/delete', access: 'admin', handle: (g, c) => deleteUsers(g, c.body) },
  { method: 'GET', path: '/user/info', access: 'any', handle: (g, c) => userInfo(g, c.principal, c.query) },
  { method: 'GET', path: '/user/list', access: 'admin_read', handle: (g, c) => listUsers(g, c.query) },
];
