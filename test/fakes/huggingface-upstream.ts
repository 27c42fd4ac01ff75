/**
 * A fake Hugging Face TGI / Inference Endpoint for the contract suite: `POST /v1/chat/completions`
 * with a Bearer token, OpenAI-format answers and `data:` SSE chunks ending in `data: [DONE]`, and
 * errors the way TGI and the HF router send them (`{"error": "...", "error_type": "..."}`, 422 for
 * an input longer than the model allows, 503 while the model loads).
 */
import type http from 'node:http';
import type { ContractFake, ErrorCase, RecordedCall, Script } from '../contract/harness.js';
import { halves, pieces, sendJson, sendSse, startScriptedFake } from './fake-server.js';

export const HF_FAKE_TOKEN = 'hf_fakeToken0123456789';

const ERRORS: Record<Exclude<ErrorCase, 'content_policy'>, [number, (m: string) => unknown]> = {
  auth: [401, (m) => ({ error: `Invalid credentials in Authorization header (${m})` })],
  permission: [
    403,
    (m) => ({
      error: `This authentication method does not have sufficient permissions to call Inference Providers (${m})`,
    }),
  ],
  not_found: [404, (m) => ({ error: `Model meta-llama/Nope does not exist (${m})` })],
  rate_limit: [429, (m) => ({ error: `Model is overloaded: too many requests (${m})`, error_type: 'overloaded' })],
  context_window: [
    422,
    (m) => ({
      error:
        'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. ' +
        `Given: 4050 \`inputs\` tokens and 50 \`max_new_tokens\` (${m})`,
      error_type: 'validation',
    }),
  ],
  overloaded: [
    503,
    (m) => ({ error: `Model meta-llama/Llama-3.1-8B-Instruct is currently loading (${m})`, estimated_time: 20 }),
  ],
};

function answer(call: RecordedCall, s: Script, res: http.ServerResponse): Promise<void> | void {
  if (call.method !== 'POST' || call.path !== '/v1/chat/completions')
    return sendJson(res, 404, { error: `no route ${call.path}` });
  if (call.headers.authorization !== `Bearer ${HF_FAKE_TOKEN}`)
    return sendJson(res, 401, { error: 'Invalid credentials in Authorization header' });
  if (s.type === 'error') {
    const e = ERRORS[s.error as Exclude<ErrorCase, 'content_policy'>];
    if (!e) return sendJson(res, 500, { error: `the fake has no ${s.error}` });
    return sendJson(res, e[0], e[1](s.message), s.retryAfter ? { 'retry-after': s.retryAfter } : {});
  }
  if (s.type === 'hang') return;
  const created = 1732245000;
  const model = call.body.model;
  const usage = {
    prompt_tokens: s.usage.input,
    completion_tokens: s.usage.output,
    total_tokens: s.usage.input + s.usage.output,
  };
  const isTool = s.type === 'tool_call';
  if (!call.body.stream) {
    // TGI sends arguments as an object in some versions; the router as a string: the string form here
    const message = isTool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: s.id, type: 'function', function: { name: s.name, arguments: JSON.stringify(s.args) } }],
        }
      : { role: 'assistant', content: s.text };
    return sendJson(res, 200, {
      id: '',
      object: 'chat.completion',
      created,
      model,
      system_fingerprint: '3.0.1-sha-fake',
      choices: [{ index: 0, message, logprobs: null, finish_reason: isTool ? 'tool_calls' : 'stop' }],
      usage,
    });
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({
    id: '',
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: '3.0.1-sha-fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const ev: [undefined, unknown][] = [[undefined, chunk({ role: 'assistant', content: '' })]];
  if (isTool) {
    ev.push([
      undefined,
      chunk({
        role: 'assistant',
        tool_calls: [{ index: 0, id: s.id, type: 'function', function: { name: s.name, arguments: '' } }],
      }),
    ]);
    for (const p of halves(JSON.stringify(s.args)))
      ev.push([undefined, chunk({ role: 'assistant', tool_calls: [{ index: 0, function: { arguments: p } }] })]);
  } else for (const p of pieces(s.text)) ev.push([undefined, chunk({ role: 'assistant', content: p })]);
  ev.push([undefined, chunk({}, isTool ? 'tool_calls' : 'stop')]);
  if (call.body.stream_options?.include_usage)
    ev.push([undefined, { id: '', object: 'chat.completion.chunk', created, model, choices: [], usage }]);
  return sendSse(res, ev, 'data: [DONE]\n\n');
}

/** Start the fake TGI server on 127.0.0.1. */
export function startHuggingFaceUpstream(): Promise<ContractFake> {
  return startScriptedFake(answer);
}
