/**
 * Everything governance adds to an engine, in one module the engine imports only when a master key is set:
 * the store's drivers and the query builder cost ~150 ms of start-up that an engine without keys never pays.
 */
export { virtualKeyAuth } from '../auth/virtual-key.js';
export { createAdmission } from './admission.js';
export { findManagementRoute, handleManagement, MANAGEMENT_ROUTES } from './api/index.js';
export { startGovernance } from './governance.js';
export { startSpendWriter } from './spend/writer.js';
