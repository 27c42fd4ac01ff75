import path from 'node:path';
import type { ConfigSource } from '../../../config/litellm/load.js';
import { UserError } from '../../../errors.js';
import { expandHome } from '../../../util/paths.js';
import type { CliContext } from '../../context.js';

/** The config file from the flag or CONFIG_FILE_PATH (LiteLLM's variable), read from where the command ran. */
export function configSource(flag: string | undefined, ctx: Pick<CliContext, 'env' | 'cwd'>): ConfigSource {
  const file = flag ?? ctx.env.CONFIG_FILE_PATH;
  if (!file) {
    throw new UserError('no config file: pass --config <file> (or set CONFIG_FILE_PATH)', {
      hint:
        'A minimal offline config:\n  model_list:\n    - model_name: demo\n' +
        '      litellm_params: {model: openai/demo, mock_response: "Hello!"}',
    });
  }
  // messages name the file as the user wrote it
  return { kind: 'file', path: path.resolve(ctx.cwd, expandHome(file, ctx.env)), label: file };
}
