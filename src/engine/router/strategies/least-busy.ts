import { lowestBy } from './strategy.js';

/** least-busy: the deployment with the fewest attempts in flight. */
export const leastBusy = lowestBy('least-busy', 'inflight');
