import { type CommandGroup, defineCommand, examplesBlock } from '../../command.js';
import { proxyImportLiteLLMCommand } from './import-litellm.js';
import { keysCommands } from './keys/index.js';
import { proxySpendCommand } from './spend.js';
import type { ProxyStartOptions } from './start.js';
import { STORE_OPTIONS, type StoreFlags } from './store-flags.js';

/** `kubiya proxy ...`: the bundled engine on its own, and a config check. */
export const proxyCommands: CommandGroup = {
  name: 'proxy',
  description: 'Run the bundled LiteLLM-compatible proxy engine on its own',
  helpText: examplesBlock([
    'kubiya proxy validate templates/multi-provider.yaml',
    'kubiya proxy start --config templates/mock.yaml --port 4000',
    'LITELLM_MASTER_KEY=sk-... kubiya proxy start -c litellm.yaml --db-path ./gov.db',
    'kubiya proxy keys create --alias ci --models gpt-4o-mini',
    'kubiya proxy spend --by team --since 7d',
  ]),
  groups: [keysCommands],
  commands: [
    defineCommand<ProxyStartOptions>({
      name: 'start',
      description: 'Serve a LiteLLM config (OpenAI-compatible API) until SIGTERM/SIGINT, then drain and exit 0',
      options: [
        { flags: '-c, --config <file>', description: 'LiteLLM config file (default: $CONFIG_FILE_PATH)' },
        { flags: '--host <host>', description: 'address to bind', default: '127.0.0.1' },
        { flags: '-p, --port <port>', description: 'port to bind; 0 picks a free one and prints it', default: '4000' },
        {
          flags: '--port-file <file>',
          description: 'after binding, write {"pid","host","port","url"} here (atomically)',
        },
        {
          flags: '--drain-timeout <seconds>',
          description: 'on SIGTERM, how long to let in-flight requests and streams finish',
          default: '30',
        },
        {
          flags: '--detailed-debug',
          description: 'log every request (method, path, status, time, request id); never secrets',
        },
        { flags: '--detailed_debug', hidden: true },
        { flags: '--debug', description: 'same as --detailed-debug', hidden: true },
        { flags: '--json-logs', description: 'structured JSON log lines (also litellm_settings.json_logs)' },
        {
          flags: '--exit-with-parent',
          description: 'drain and exit when the process that started the engine goes away (used by worker start)',
        },
        {
          flags: '--parent-pid <pid>',
          description: 'with --exit-with-parent: the pid that started the engine (default: its parent now)',
        },
        ...STORE_OPTIONS,
        {
          flags: '--num-workers <n>',
          description:
            'engine processes sharing the port (one per core); limits stay exact across them ' +
            '(default: $NUM_WORKERS, else 1; --num_workers works too)',
        },
        { flags: '--num_workers <n>', hidden: true },
      ],
      examples: [
        'kubiya proxy start --config templates/mock.yaml --port 4000',
        'CONFIG_FILE_PATH=litellm.yaml LITELLM_MASTER_KEY=sk-... kubiya proxy start --port 0 --json-logs',
        'LITELLM_MASTER_KEY=sk-... kubiya proxy start -c litellm.yaml --database-url postgresql://llm@db/llm',
        'kubiya proxy start -c litellm.yaml --port 4000 --num_workers 2',
      ],
      handler: async () => (await import('./start.js')).proxyStart,
    }),
    defineCommand<{ config?: string }, [string | undefined]>({
      name: 'validate',
      description:
        'Load a config, print the models it serves and its warnings; ' +
        'exit 2 when it does not load, 1 when it serves no model',
      args: [{ name: '[config]', description: 'LiteLLM config file (default: --config or $CONFIG_FILE_PATH)' }],
      options: [{ flags: '-c, --config <file>', description: 'LiteLLM config file' }],
      output: 'text or json',
      examples: ['kubiya proxy validate templates/multi-provider.yaml', 'kubiya proxy validate litellm.json -o json'],
      handler: async () => (await import('./validate.js')).proxyValidate,
    }),
    defineCommand<StoreFlags & { config?: string }>({
      name: 'migrate',
      description:
        'Apply the pending migrations of the virtual-key and spend store (SQLite or Postgres), then exit; ' +
        'for engines started with --skip-migrations',
      options: [
        { flags: '-c, --config <file>', description: 'LiteLLM config whose general_settings.database_url to use' },
        ...STORE_OPTIONS.filter((o) => !o.flags.startsWith('--skip')),
      ],
      output: 'text or json',
      examples: [
        'DATABASE_URL=postgresql://llm@db/llm kubiya proxy migrate',
        'kubiya proxy migrate --db-path ./gov.db',
      ],
      handler: async () => (await import('./migrate.js')).proxyMigrate,
    }),
    proxySpendCommand,
    proxyImportLiteLLMCommand,
  ],
};
