/**
 * The models the sink tests (Langfuse, OpenTelemetry) serve: `mocked` (mock_response), `gpt` (a fake
 * OpenAI upstream) and `main` falling back to `spare` (two fault upstreams), ids fixed for assertions.
 */
export function sinkModels(upstreamUrl: string, primaryBase: string, backupBase: string, apiKey: string) {
  const at = (model_name: string, model: string, api_base: string, id: string) => ({
    model_name,
    litellm_params: { model, api_base, api_key: apiKey },
    model_info: { id },
  });
  return [
    {
      model_name: 'mocked',
      litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' },
      model_info: { id: 'dep-mock' },
    },
    at('gpt', 'openai/gpt-4o', `${upstreamUrl}/v1`, 'dep-gpt'),
    at('main', 'openai/p-model', primaryBase, 'main-primary'),
    at('spare', 'openai/b-model', backupBase, 'spare-backup'),
  ];
}
