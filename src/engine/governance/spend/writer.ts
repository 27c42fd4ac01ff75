import type { SettledSubscriber } from '../../observability/settled.js';
import type { Governance } from '../governance.js';

/** The spend-log writer: one row per settled request and the daily rollups, written in batches. */
export function startSpendWriter(_g: Governance): SettledSubscriber | undefined {
  return undefined;
}
