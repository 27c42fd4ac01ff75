import { UserError } from '../../../errors.js';
import { defineCommand } from '../../command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const INSTALL = `Install (once; new shells pick it up):
  bash   echo 'source <(kubiya completion bash)' >> ~/.bashrc
  zsh    echo 'source <(kubiya completion zsh)' >> ~/.zshrc      # after compinit
  fish   kubiya completion fish > ~/.config/fish/completions/kubiya.fish

Completes commands, flags, context names (--context, use-context, ...) from ~/.kubiya/config,
queue ids (--queue-id) from ~/.kubiya/workers, and -o values. Regenerate after upgrading kubiya.`;

/** `kubiya completion bash|zsh|fish`: print the shell's completion script. */
export const completionCommand = defineCommand<object, [string]>({
  name: 'completion <shell>',
  description: 'Print a shell completion script (bash, zsh or fish)',
  notes: INSTALL,
  examples: ['source <(kubiya completion bash)', 'kubiya completion fish > ~/.config/fish/completions/kubiya.fish'],
  handler: async () => async (ctx, _opts, shell) => {
    if (!(SHELLS as readonly string[]).includes(shell))
      throw new UserError(`unknown shell "${shell}": expected one of ${SHELLS.join(', ')}`);
    const [{ buildProgram }, { completionScript, commandTree }] = await Promise.all([
      import('../../main.js'),
      import('./script.js'),
    ]);
    const program = buildProgram(ctx, () => undefined);
    ctx.stdout.write(completionScript(shell as Shell, commandTree(program)));
    return 0;
  },
});

/**
 * `kubiya __complete contexts|queues`: the dynamic words of a completion, one a line. Hidden: the completion
 * scripts call it on TAB. Never fails loudly (a broken config must not spray errors over the user's prompt).
 */
export const completeCommand = defineCommand<object, [string]>({
  name: '__complete <kind>',
  description: 'internal: words for shell completion (contexts, queues)',
  hidden: true,
  handler: async () => async (ctx, _opts, kind) => {
    let words: string[] = [];
    try {
      if (kind === 'contexts') words = (await ctx.configStore()).contexts.map((c) => c.name);
      else if (kind === 'queues') words = (await import('../../../supervisor/queue-dir.js')).listQueueIds(ctx.env);
    } catch {
      // an unreadable or invalid config: nothing to offer
    }
    if (words.length) ctx.stdout.write(`${words.join('\n')}\n`);
    return 0;
  },
});
