import { lowestBy } from './strategy.js';

/** latency-based-routing: the lowest moving-average latency (time to first token for streams); unmeasured first. */
export const latencyBased = lowestBy('latency-based-routing', 'latencyMs');
