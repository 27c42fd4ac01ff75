import { Option, type Command } from 'commander';

/** Registers the `kubiya proxy` command group: start the bundled engine, validate a config. */
export function register(program: Command): void {
  const proxy = program.command('proxy').description('Run the bundled LiteLLM-compatible proxy engine on its own');

  proxy
    .command('start')
    .description('Serve a LiteLLM config (OpenAI-compatible API) until SIGTERM/SIGINT, then drain and exit 0')
    .option('-c, --config <file>', 'LiteLLM config file (default: $CONFIG_FILE_PATH)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port to bind; 0 picks a free one and prints it', '4000')
    .option('--port-file <file>', 'after binding, write {"pid","host","port","url"} here (atomically)')
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long to let in-flight requests and streams finish', '30')
    .option('--detailed-debug', 'log every request (method, path, status, time, request id); never secrets')
    .addOption(new Option('--detailed_debug').hideHelp())
    .addOption(new Option('--debug', 'same as --detailed-debug').hideHelp())
    .option('--json-logs', 'structured JSON log lines (also litellm_settings.json_logs)')
    .option('--exit-with-parent', 'drain and exit when the process that started the engine goes away (used by worker start)')
    .addOption(new Option('--num_workers <n>').hideHelp())
    .addHelpText('after', '\nExamples:\n  kubiya proxy start --config templates/mock.yaml --port 4000\n  CONFIG_FILE_PATH=litellm.yaml LITELLM_MASTER_KEY=sk-... kubiya proxy start --port 0 --json-logs')
    .action(async (opts) => (await import('./start.js')).proxyStart(opts));

  proxy
    .command('validate')
    .description('Load a config, print the models it serves and its warnings; exit 2 when it does not load, 1 when it serves no model')
    .argument('[config]', 'LiteLLM config file (default: --config or $CONFIG_FILE_PATH)')
    .option('-c, --config <file>', 'LiteLLM config file')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText('after', '\nExamples:\n  kubiya proxy validate templates/multi-provider.yaml\n  kubiya proxy validate litellm.json -o json')
    .action(async (file: string | undefined, opts) => (await import('./validate.js')).proxyValidate(file, opts));
}
