import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /budget/* */
export const BUDGET_ROUTES: ManagementRoute<Governance>[] = [];
