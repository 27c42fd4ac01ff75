import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /team/* and /team/member_* */
export const TEAM_ROUTES: ManagementRoute<Governance>[] = [];
