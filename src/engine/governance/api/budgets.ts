import {
  budgetInfo,
  budgetSettings,
  createBudget,
  deleteBudget,
  listBudgets,
  updateBudget,
} from '../entities/budgets.js';
import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /budget/* : proxy admins write, viewers read. */
export const BUDGET_ROUTES: ManagementRoute<Governance>[] = [
  { method: 'POST', path: '/budget/new', access: 'admin', handle: (g, c) => createBudget(g, c.principal, c.body) },
  { method: 'POST', path: '/budget/update', access: 'admin', handle: (g, c) => updateBudget(g, c.principal, c.body) },
  { method: 'POST', path: '/budget/info', access: 'admin_read', handle: (g, c) => budgetInfo(g, c.body) },
  { method: 'GET', path: '/budget/settings', access: 'admin_read', handle: (g, c) => budgetSettings(g, c.query) },
  { method: 'GET', path: '/budget/list', access: 'admin_read', handle: (g) => listBudgets(g) },
  { method: 'POST', path: '/budget/delete', access: 'admin', handle: (g, c) => deleteBudget(g, c.body) },
];
