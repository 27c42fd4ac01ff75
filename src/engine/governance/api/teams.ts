import {
  createTeam,
  deleteTeams,
  listTeams,
  memberAdd,
  memberDelete,
  memberUpdate,
  setTeamBlocked,
  teamInfo,
  updateTeam,
} from '../entities/teams.js';
import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/**
 * /team/* and /team/member_* . Creating, changing, blocking and deleting teams is for proxy admins; a team's
 * admins manage its members; info and list are open to every caller and narrowed to their own teams.
 */
export const TEAM_ROUTES: ManagementRoute<Governance>[] = [
  { method: 'POST', path: '/team/new', access: 'admin', handle: (g, c) => createTeam(g, c.principal, c.body) },
  { method: 'POST', path: '/team/update', access: 'admin', handle: (g, c) => updateTeam(g, c.principal, c.body) },
  { method: 'POST', path: '/team/delete', access: 'admin', handle: (g, c) => deleteTeams(g, c.body) },
  { method: 'GET', path: '/team/info', access: 'any', handle: (g, c) => teamInfo(g, c.principal, c.query) },
  { method: 'GET', path: '/team/list', access: 'any', handle: (g, c) => listTeams(g, c.principal, c.query) },
  { method: 'POST', path: '/team/block', access: 'admin', handle: (g, c) => setTeamBlocked(g, c.body, true) },
  { method: 'POST', path: '/team/unblock', access: 'admin', handle: (g, c) => setTeamBlocked(g, c.body, false) },
  { method: 'POST', path: '/team/member_add', access: 'any', handle: (g, c) => memberAdd(g, c.principal, c.body) },
  {
    method: 'POST',
    path: '/team/member_delete',
    access: 'any',
    handle: (g, c) => memberDelete(g, c.principal, c.body),
  },
  {
    method: 'POST',
    path: '/team/member_update',
    access: 'any',
    handle: (g, c) => memberUpdate(g, c.principal, c.body),
  },
];
