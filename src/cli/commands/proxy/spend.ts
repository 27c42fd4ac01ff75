import { defineCommand } from '../../command.js';
import type { ProxySpendOptions } from './spend-run.js';

/** `kubiya proxy spend`: what a running engine's keys, teams or models spent (its spend reports). */
export const proxySpendCommand = defineCommand<ProxySpendOptions>({
  name: 'spend',
  description: 'Show what a running proxy spent per key, team or model over a recent period (needs its master key)',
  options: [
    { flags: '--by <what>', description: 'group by', choices: ['key', 'team', 'model'], default: 'key' },
    { flags: '--since <period>', description: 'how far back: 7d, 2w, 24h (whole UTC days)', default: '7d' },
    {
      flags: '--url <url>',
      description:
        "the proxy's URL (default: $LITELLM_PROXY_URL, the context's llm-gateway-url, http://127.0.0.1:4000)",
    },
    {
      flags: '--master-key <key>',
      description: "the proxy's master key (default: $LITELLM_MASTER_KEY, or the context's proxy config's master_key)",
    },
  ],
  output: 'table (text) or json',
  examples: [
    'kubiya proxy spend',
    'kubiya proxy spend --by team --since 30d',
    'LITELLM_MASTER_KEY=sk-... kubiya proxy spend --url http://127.0.0.1:4000 --by model -o json',
  ],
  handler: async () => (await import('./spend-run.js')).proxySpend,
});
