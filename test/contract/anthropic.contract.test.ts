/** Anthropic (Messages API) through the provider contract suite. */
import { expect } from 'vitest';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { CONTRACT_INPUTS as I, runContractSuite, type RecordedCall } from './harness.js';

function commonChecks(call: RecordedCall): void {
  expect(call.path).toBe('/v1/messages');
  expect(call.headers['x-api-key']).toBe(ANTHROPIC_FAKE_KEY);
  expect(call.headers['anthropic-version']).toBe('2023-06-01');
  expect(call.headers.authorization).toBeUndefined();
  expect(call.body.model).toBe('claude-3-5-sonnet-20241022');
}

runContractSuite({
  name: 'Anthropic',
  startFake: startAnthropicUpstream,
  deploymentParams: (url) => ({ model: 'anthropic/claude-3-5-sonnet-20241022', api_base: url }),
  env: { ANTHROPIC_API_KEY: ANTHROPIC_FAKE_KEY },
  expect: {
    plain(call) {
      commonChecks(call);
      expect(call.body).toEqual({
        model: 'claude-3-5-sonnet-20241022',
        system: I.system,
        messages: [{ role: 'user', content: [{ type: 'text', text: I.user }] }],
        max_tokens: I.max_tokens,
        temperature: I.temperature,
        top_p: I.top_p,
        stop_sequences: I.stop,
        metadata: { user_id: I.endUser },
      });
    },
    stream(call) {
      commonChecks(call);
      expect(call.body.stream).toBe(true);
      expect(call.headers.accept).toBe('text/event-stream');
    },
    tools(call) {
      commonChecks(call);
      expect(call.body.tools).toEqual([{ name: I.tool.name, description: I.tool.description, input_schema: I.tool.parameters }]);
      expect(call.body.tool_choice).toEqual({ type: 'auto' });
    },
    toolResult(call) {
      commonChecks(call);
      // no max_tokens in the request: defaulted from the model (claude-3-5 -> 8192)
      expect(call.body.max_tokens).toBe(8192);
      expect(call.body.system).toBe(I.system);
      expect(call.body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: I.toolCallId, name: I.tool.name, input: I.toolArgs }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: I.toolCallId, content: I.toolResult }] },
      ]);
    },
    imageDataUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content).toEqual([
        { type: 'text', text: 'What is this?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: I.pngBase64 } },
      ]);
    },
    imageHttpsUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image', source: { type: 'url', url: I.httpsUrl } });
    },
  },
});
