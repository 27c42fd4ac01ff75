import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /user/* */
export const USER_ROUTES: ManagementRoute<Governance>[] = [];
