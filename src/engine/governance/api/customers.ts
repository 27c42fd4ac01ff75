import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /customer/* and /end_user/* */
export const CUSTOMER_ROUTES: ManagementRoute<Governance>[] = [];
