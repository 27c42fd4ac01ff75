import { UserError } from '../../../errors.js';

/** The config file from the flag or CONFIG_FILE_PATH (LiteLLM's variable). */
export function configPath(flag: string | undefined): string {
  const file = flag ?? process.env.CONFIG_FILE_PATH;
  if (!file) {
    throw new UserError('no config file: pass --config <file> (or set CONFIG_FILE_PATH)', {
      hint: 'A minimal offline config:\n  model_list:\n    - model_name: demo\n      litellm_params: {model: openai/demo, mock_response: "Hello!"}',
    });
  }
  return file;
}
