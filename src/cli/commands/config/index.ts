import type { ContextPatch } from '../../../config/contexts/index.js';
import { type CommandGroup, defineCommand } from '../../command.js';
import type { SetProxyOpts } from './handlers.js';

const HELP = `
Examples:
  kubiya config set-context prod --api-url https://control-plane.kubiya.ai --organization acme --token $KUBIYA_API_KEY
  kubiya config use-context prod
  kubiya config set-proxy --enable --config-file ~/.kubiya/litellm.yaml --model gpt-4o
  kubiya config get-contexts --output json
  KUBIYA_CONTEXT=staging kubiya worker start --queue-id q1 --dry-run

The file is ~/.kubiya/config (or $KUBIYA_CONFIG); KUBIYA_CONTEXT picks a context for one command.`;

const handlers = () => import('./handlers.js');

/** `kubiya config ...`: contexts in ~/.kubiya/config. */
export const configCommands: CommandGroup = {
  name: 'config',
  description: 'Manage contexts in ~/.kubiya/config (control plane URL, API key, local proxy settings)',
  helpText: HELP,
  commands: [
    defineCommand({
      name: 'get-contexts',
      description: 'List contexts; * marks the current one',
      output: 'text or json',
      examples: ['kubiya config get-contexts', 'kubiya config get-contexts -o json'],
      handler: async () => (await handlers()).getContexts,
    }),
    defineCommand({
      name: 'current-context',
      description: 'Print the current context (KUBIYA_CONTEXT wins over the file for one command)',
      output: 'text or json',
      examples: ['kubiya config current-context', 'KUBIYA_CONTEXT=staging kubiya config current-context -o json'],
      handler: async () => (await handlers()).currentContext,
    }),
    defineCommand<object, [string]>({
      name: 'use-context <name>',
      description: 'Make a context the current one',
      examples: ['kubiya config use-context prod', 'kubiya config get-contexts   # the names you can use'],
      handler: async () => (await handlers()).useContext,
    }),
    defineCommand<ContextPatch, [string]>({
      name: 'set-context <name>',
      description:
        'Create a context, or change fields of an existing one (other fields, litellm-proxy included, are kept)',
      options: [
        { flags: '--api-url <url>', description: 'control plane URL, e.g. https://control-plane.kubiya.ai' },
        { flags: '--organization <org>', description: 'organization name' },
        { flags: '--user <user>', description: 'user name (the token is stored under this user)' },
        { flags: '--token <key>', description: 'Kubiya API key for the user (stored in the file, mode 0600)' },
        { flags: '--worker-command <cmd>', description: 'worker command line for workers started in this context' },
        { flags: '--llm-gateway-url <url>', description: 'LLM gateway URL when no local proxy runs' },
      ],
      examples: [
        'kubiya config set-context prod --api-url https://control-plane.kubiya.ai' +
          ' --organization acme --user me@acme.com',
        'kubiya config set-context prod --token "$KUBIYA_API_KEY"',
        'kubiya config set-context dev --worker-command "python -m my_worker"',
      ],
      handler: async () => (await handlers()).setContext,
    }),
    defineCommand<SetProxyOpts>({
      name: 'set-proxy',
      description: 'Enable or disable the local LLM proxy of a context and set its LiteLLM config',
      options: [
        { flags: '--context <name>', description: 'context to change (default: the current one)' },
        { flags: '--enable', description: 'run the local proxy for workers of this context' },
        { flags: '--disable', description: 'do not run the local proxy' },
        {
          flags: '--config-file <file>',
          description:
            'LiteLLM config file (YAML or JSON; ~ expands when used; a relative path is stored as an absolute one)',
        },
        { flags: '--config-json <json>', description: 'inline LiteLLM config as JSON' },
        { flags: '--model <model>', description: 'default model for the worker' },
      ],
      examples: [
        'kubiya config set-proxy --enable --config-file ~/.kubiya/litellm_production.yaml',
        'kubiya config set-proxy --context dev --enable --config-json ' +
          `'{"model_list":[{"model_name":"llama3","litellm_params":{"model":"ollama/llama3"}}]}'`,
        'kubiya config set-proxy --disable',
      ],
      handler: async () => (await handlers()).setProxy,
    }),
    defineCommand<object, [string]>({
      name: 'delete-context <name>',
      description: 'Delete a context (its user entry is kept)',
      examples: ['kubiya config delete-context staging'],
      handler: async () => (await handlers()).deleteContext,
    }),
    defineCommand<object, [string, string]>({
      name: 'rename-context <old> <new>',
      description: 'Rename a context (current-context follows)',
      examples: ['kubiya config rename-context default prod'],
      handler: async () => (await handlers()).renameContext,
    }),
    defineCommand<{ raw?: boolean }>({
      name: 'view',
      description: 'Show the config file; tokens and keys are masked unless --raw',
      options: [{ flags: '--raw', description: 'show tokens and keys unmasked' }],
      output: 'yaml (text) or json',
      examples: ['kubiya config view', 'kubiya config view -o json', 'kubiya config view --raw   # prints your tokens'],
      handler: async () => (await handlers()).view,
    }),
  ],
};
