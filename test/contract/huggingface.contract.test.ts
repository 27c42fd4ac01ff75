/** Hugging Face (TGI / Inference Endpoints / router, OpenAI-style Messages API) through the contract suite. */
import { describe, expect, it } from 'vitest';
import { huggingfaceAdapter } from '../../src/engine/providers/huggingface/index.js';
import type { CallContext, DeploymentSpec } from '../../src/engine/providers/types.js';
import { HF_FAKE_TOKEN, startHuggingFaceUpstream } from '../fakes/huggingface-upstream.js';
import { CONTRACT_INPUTS as I, type RecordedCall, runContractSuite } from './harness.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

function commonChecks(call: RecordedCall): void {
  expect(call.path).toBe('/v1/chat/completions');
  expect(call.headers.authorization).toBe(`Bearer ${HF_FAKE_TOKEN}`);
  expect(call.body.model).toBe(MODEL);
}

runContractSuite({
  name: 'Hugging Face',
  startFake: startHuggingFaceUpstream,
  // api_base without /v1: the adapter adds it
  deploymentParams: (url) => ({ model: `huggingface/${MODEL}`, api_base: url }),
  env: { HF_TOKEN: HF_FAKE_TOKEN },
  unsupportedErrors: ['content_policy'],
  expect: {
    plain(call) {
      commonChecks(call);
      expect(call.body).toEqual({
        model: MODEL,
        messages: [
          { role: 'system', content: I.system },
          { role: 'user', content: I.user },
        ],
        temperature: I.temperature,
        top_p: I.top_p,
        max_tokens: I.max_tokens,
        stop: I.stop,
        user: I.endUser,
      });
    },
    stream(call) {
      commonChecks(call);
      expect(call.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    },
    tools(call) {
      commonChecks(call);
      expect(call.body.tools).toEqual([{ type: 'function', function: I.tool }]);
    },
    toolResult(call) {
      commonChecks(call);
      expect(call.body.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: I.toolCallId, content: I.toolResult });
      expect(call.body.messages.at(-2).tool_calls[0].function).toEqual({
        name: I.tool.name,
        arguments: JSON.stringify(I.toolArgs),
      });
    },
    imageDataUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: I.dataUrl } });
    },
    imageHttpsUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: I.httpsUrl } });
    },
  },
});

describe('Hugging Face base URLs', () => {
  const spec = (params: Record<string, unknown>, env: Record<string, string> = {}): DeploymentSpec => ({
    modelName: 'm',
    provider: 'huggingface',
    model: MODEL,
    params,
    info: {},
    env,
    at: 'model_list[0]',
  });
  const call: CallContext = {
    kind: 'chat',
    body: { model: MODEL, messages: [] },
    model: MODEL,
    stream: false,
    signal: new AbortController().signal,
    requestId: 'r',
  };
  const where = async (params: Record<string, unknown>, env?: Record<string, string>) => {
    const state = huggingfaceAdapter.prepare(spec(params, env));
    const req = await huggingfaceAdapter.buildRequest(state, call);
    return { url: req.origin + req.path, auth: req.headers.authorization, body: JSON.parse(String(req.body)) };
  };

  it(
    'without api_base goes to the HF router with the model in the body ' + 'and HUGGINGFACE_API_KEY as Bearer',
    async () => {
      const r = await where({}, { HUGGINGFACE_API_KEY: 'hf_x' });
      expect(r.url).toBe('https://router.huggingface.co/v1/chat/completions');
      expect(r.auth).toBe('Bearer hf_x');
      expect(r.body.model).toBe(MODEL);
    },
  );

  it('accepts an endpoint URL given with /v1, with /v1/chat/completions, or bare', async () => {
    for (const b of [
      'https://x.endpoints.huggingface.cloud',
      'https://x.endpoints.huggingface.cloud/v1/',
      'https://x.endpoints.huggingface.cloud/v1/chat/completions',
    ]) {
      expect((await where({ api_base: b, api_key: 'k' })).url).toBe(
        'https://x.endpoints.huggingface.cloud/v1/chat/completions',
      );
    }
  });
});
