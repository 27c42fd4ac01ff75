import type { Governance } from './governance.js';
import type { Admission } from './types.js';

/** Per-request checks of virtual keys: model access, budgets (with reservation), rate limits. */
export function createAdmission(_g: Governance): Admission | undefined {
  return undefined;
}
