import { lowestBy } from './strategy.js';

/** cost-based-routing: the cheapest per token (model_info or the built-in table); unknown prices last. */
export const costBased = lowestBy('cost-based-routing', 'cost');
