import { lowestBy } from './strategy.js';

/** usage-based-routing-v2: the fewest tokens this minute (rpm/tpm limits were applied before). */
export const usageBased = lowestBy('usage-based-routing-v2', 'tokens', true);
