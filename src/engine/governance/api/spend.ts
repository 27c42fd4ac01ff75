import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

/** /spend/logs, /global/spend/* */
export const SPEND_ROUTES: ManagementRoute<Governance>[] = [];
