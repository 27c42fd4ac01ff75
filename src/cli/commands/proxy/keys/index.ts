import { type CommandGroup, defineCommand, examplesBlock, type OptionSpec } from '../../../command.js';
import type { CreateOptions, DeleteOptions, ListOptions, TargetOptions } from './handlers.js';

/** How every `proxy keys` command finds the engine (the master key is read from the environment by preference). */
const TARGET: OptionSpec[] = [
  {
    flags: '--url <url>',
    description: "the engine (default: $KUBIYA_PROXY_URL, the context's litellm-proxy.url, else http://127.0.0.1:4000)",
  },
  {
    flags: '--master-key <key>',
    description:
      'a key allowed to manage keys (default: $LITELLM_MASTER_KEY, else the current context: ' +
      "litellm-proxy.master-key or its config-file's master_key)",
  },
];
const KEY_ARG = [{ name: '<key>', description: 'the key, or its sha256 hash (the TOKEN column of `keys list`)' }];

/** A command that acts on one key given as its argument. */
function oneKey(
  name: string,
  description: string,
  handler: 'keysInfo' | 'keysBlock' | 'keysUnblock',
  examples = [`kubiya proxy keys ${name} 4f1c2e...`],
) {
  return defineCommand<TargetOptions, [string]>({
    name,
    description,
    args: KEY_ARG,
    options: TARGET,
    output: 'text or json',
    examples,
    handler: async () => (await import('./handlers.js'))[handler],
  });
}

/** `kubiya proxy keys ...`: virtual keys on a running engine (LiteLLM's /key/* API), without curl. */
export const keysCommands: CommandGroup = {
  name: 'keys',
  description: 'Create, list, inspect, block and delete virtual keys on a running engine',
  helpText:
    '\nThe engine must run with a master key (general_settings.master_key or LITELLM_MASTER_KEY).\n' +
    'Target: --url/--master-key, else KUBIYA_PROXY_URL (or LITELLM_PROXY_URL) and LITELLM_MASTER_KEY,\n' +
    "else the current context's litellm-proxy block (url, master-key, or its config-file's master_key);\n" +
    'the URL defaults to http://127.0.0.1:4000.\n' +
    examplesBlock([
      'kubiya proxy keys create --alias ci --models gpt-4o-mini --max-budget 5',
      'kubiya proxy keys list -o json',
      'kubiya proxy keys block sk-...',
    ]),
  commands: [
    defineCommand<CreateOptions>({
      name: 'create',
      description: 'Make a virtual key; the key is printed once (store it), only its hash is kept',
      options: [
        ...TARGET,
        { flags: '--alias <alias>', description: 'key_alias (unique)' },
        { flags: '--models <list>', description: 'comma-separated models or access groups it may call (default: all)' },
        { flags: '--duration <d>', description: 'expires after 30m, 12h, 30d, 1mo (default: never)' },
        { flags: '--max-budget <usd>', description: 'max_budget in USD' },
        { flags: '--budget-duration <d>', description: 'reset the spend every 1d, 7d, 1mo (aligned)' },
        { flags: '--user-id <id>', description: 'the user the key belongs to' },
        { flags: '--team-id <id>', description: 'the team the key belongs to' },
        { flags: '--rpm <n>', description: 'requests per minute' },
        { flags: '--tpm <n>', description: 'tokens per minute' },
        { flags: '--max-parallel <n>', description: 'requests in flight at once' },
        { flags: '--metadata <json>', description: 'a JSON object kept with the key' },
        { flags: '--tags <list>', description: 'comma-separated tags' },
      ],
      output: 'text or json (json includes the key)',
      examples: [
        'kubiya proxy keys create --url http://127.0.0.1:4000 --alias ci --models gpt-4o-mini',
        'kubiya proxy keys create --max-budget 5 --budget-duration 1d --duration 30d',
        'kubiya proxy keys create --duration 30d -o json | jq -r .key',
      ],
      handler: async () => (await import('./handlers.js')).keysCreate,
    }),
    defineCommand<ListOptions>({
      name: 'list',
      description: 'List keys (name, alias, hash, owner, models, spend, budget, expiry); never the keys themselves',
      options: [
        ...TARGET,
        { flags: '--user-id <id>', description: "only this user's keys" },
        { flags: '--team-id <id>', description: "only this team's keys" },
        { flags: '--alias <alias>', description: 'only the key with this alias' },
        { flags: '--page <n>', description: 'page number', default: '1' },
        { flags: '--size <n>', description: 'keys per page (at most 100)', default: '50' },
      ],
      output: 'text or json',
      examples: ['kubiya proxy keys list', 'kubiya proxy keys list --team-id ml -o json'],
      handler: async () => (await import('./handlers.js')).keysList,
    }),
    oneKey('info', "Show one key's settings, spend and limits (never the key itself)", 'keysInfo', [
      'kubiya proxy keys info sk-...',
      'kubiya proxy keys info 4f1c2e... -o json',
    ]),
    oneKey(
      'block',
      'Refuse every request with this key until unblocked (takes effect at once on this engine)',
      'keysBlock',
    ),
    oneKey('unblock', 'Accept a blocked key again', 'keysUnblock'),
    defineCommand<DeleteOptions, [string[]]>({
      name: 'delete',
      description: 'Delete keys (by key, hash or --alias); all or none',
      args: [{ name: '[keys...]', description: 'keys or their hashes' }],
      options: [...TARGET, { flags: '--alias <alias...>', description: 'delete the keys with these aliases' }],
      output: 'text or json',
      examples: ['kubiya proxy keys delete 4f1c2e... 9a0b7d...', 'kubiya proxy keys delete --alias ci'],
      handler: async () => (await import('./handlers.js')).keysDelete,
    }),
  ],
};
