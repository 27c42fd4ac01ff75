import { costBased } from './cost-based.js';
import { latencyBased } from './latency-based.js';
import { leastBusy } from './least-busy.js';
import { simpleShuffle } from './simple-shuffle.js';
import type { RoutingStrategy } from './strategy.js';
import { usageBased } from './usage-based.js';

export type { RoutingStrategy } from './strategy.js';

/** Every routing strategy, one line each; the first is the default. A new strategy is one file plus one line here. */
export const STRATEGIES: readonly RoutingStrategy[] = [simpleShuffle, leastBusy, latencyBased, usageBased, costBased];

/** Other spellings LiteLLM accepts for the same strategies. */
const ALIASES: Readonly<Record<string, string>> = {
  'usage-based-routing': 'usage-based-routing-v2',
  simple_shuffle: 'simple-shuffle',
};

/** The strategy a `routing_strategy` value names (aliases included), or undefined when none does. */
export function strategyNamed(name: string): RoutingStrategy | undefined {
  const n = ALIASES[name] ?? name;
  return STRATEGIES.find((s) => s.name === n);
}
