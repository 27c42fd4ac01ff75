import { Command } from 'commander';

const EXAMPLES = `
Examples:
  kubiya config set-context prod --api-url https://control-plane.kubiya.ai --organization acme --token $KUBIYA_API_KEY
  kubiya config use-context prod
  kubiya config set-proxy --enable --config-file ~/.kubiya/litellm.yaml --model gpt-4o
  kubiya config get-contexts --output json
  KUBIYA_CONTEXT=staging kubiya worker start --queue-id q1 --dry-run

The file is ~/.kubiya/config (or $KUBIYA_CONFIG); KUBIYA_CONTEXT picks a context for one command.`;

/** An "Examples:" block for one command's --help. */
const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

/** Registers the `kubiya config` command group (contexts in ~/.kubiya/config). */
export function register(program: Command): void {
  const config = program
    .command('config')
    .description('Manage contexts in ~/.kubiya/config (control plane URL, API key, local proxy settings)')
    .addHelpText('after', EXAMPLES);
  const run = (name: string) => async (...args: unknown[]) => {
    const m = await import('./handlers.js');
    await (m.handlers as Record<string, (...a: unknown[]) => Promise<void> | void>)[name](...args);
  };

  config
    .command('get-contexts')
    .description('List contexts; * marks the current one')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText('after', examples('kubiya config get-contexts', 'kubiya config get-contexts -o json'))
    .action(run('getContexts'));
  config
    .command('current-context')
    .description('Print the current context (KUBIYA_CONTEXT wins over the file for one command)')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText('after', examples('kubiya config current-context', 'KUBIYA_CONTEXT=staging kubiya config current-context -o json'))
    .action(run('currentContext'));
  config
    .command('use-context <name>')
    .description('Make a context the current one')
    .addHelpText('after', examples('kubiya config use-context prod', 'kubiya config get-contexts   # the names you can use'))
    .action(run('useContext'));
  config
    .command('set-context <name>')
    .description('Create a context, or change fields of an existing one (other fields, litellm-proxy included, are kept)')
    .option('--api-url <url>', 'control plane URL, e.g. https://control-plane.kubiya.ai')
    .option('--organization <org>', 'organization name')
    .option('--user <user>', 'user name (the token is stored under this user)')
    .option('--token <key>', 'Kubiya API key for the user (stored in the file, mode 0600)')
    .option('--worker-command <cmd>', 'worker command line for workers started in this context')
    .option('--llm-gateway-url <url>', 'LLM gateway URL when no local proxy runs')
    .addHelpText('after', examples('kubiya config set-context prod --api-url https://control-plane.kubiya.ai --organization acme --user me@acme.com', 'kubiya config set-context prod --token "$KUBIYA_API_KEY"', 'kubiya config set-context dev --worker-command "python -m my_worker"'))
    .action(run('setContext'));
  config
    .command('set-proxy')
    .description("Enable or disable the local LLM proxy of a context and set its LiteLLM config")
    .option('--context <name>', 'context to change (default: the current one)')
    .option('--enable', 'run the local proxy for workers of this context')
    .option('--disable', 'do not run the local proxy')
    .option('--config-file <file>', 'LiteLLM config file (YAML or JSON; ~ expands when used; a relative path is stored as an absolute one)')
    .option('--config-json <json>', 'inline LiteLLM config as JSON')
    .option('--model <model>', 'default model for the worker')
    .addHelpText('after', `
Examples:
  kubiya config set-proxy --enable --config-file ~/.kubiya/litellm_production.yaml
  kubiya config set-proxy --context dev --enable --config-json '{"model_list":[{"model_name":"llama3","litellm_params":{"model":"ollama/llama3"}}]}'
  kubiya config set-proxy --disable`)
    .action(run('setProxy'));
  config
    .command('delete-context <name>')
    .description('Delete a context (its user entry is kept)')
    .addHelpText('after', examples('kubiya config delete-context staging'))
    .action(run('deleteContext'));
  config
    .command('rename-context <old> <new>')
    .description('Rename a context (current-context follows)')
    .addHelpText('after', examples('kubiya config rename-context default prod'))
    .action(run('renameContext'));
  config
    .command('view')
    .description('Show the config file; tokens and keys are masked unless --raw')
    .option('--raw', 'show tokens and keys unmasked')
    .option('-o, --output <format>', 'yaml (text) or json', 'text')
    .addHelpText('after', examples('kubiya config view', 'kubiya config view -o json', 'kubiya config view --raw   # prints your tokens'))
    .action(run('view'));
}
