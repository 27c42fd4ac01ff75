import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /key/* */
export const KEY_ROUTES: ManagementRoute<Governance>[] = [];
