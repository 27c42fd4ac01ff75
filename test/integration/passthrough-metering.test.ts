/**
 * Pass-through calls are counted like the engine's own: an inference call through /anthropic, /openai,
 * /vertex_ai or /bedrock settles one event with its usage read from the provider's own answer (JSON, SSE,
 * Bedrock's event stream) and its cost from the bundled price map, lands in the spend logs as LiteLLM's
 * `pass_through_endpoint` call and in /metrics under its route, and spends a virtual key's budget, which then
 * holds (a key over its budget is refused before anything goes upstream). The client's bytes are never changed.
 * Expected costs are written out from the bundled map's prices (named at each).
 */
import type http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { type RecordingFake, sendJson, startFake } from '../fakes/fake-server.js';
import { type FakeGoogleToken, startFakeGoogleToken } from '../fakes/google-token.js';
import { type FakeLangfuse, startFakeLangfuse } from '../fakes/langfuse.js';
import { recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-meter-5150';
const AWS = { AKIDMETERPASS: { secret: 'metered-pass-through-secret' } };
const auth = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' };

// claude-sonnet-4-5: 3e-6 input, 1.5e-5 output, 3e-7 a cache read, 3.75e-6 a cache write;
// 1000 new prompt tokens, 2000 read from the cache, 300 written to it, 50 out
const CLAUDE_USAGE = { input_tokens: 1000, cache_read_input_tokens: 2000, cache_creation_input_tokens: 300 };
const CLAUDE_COST = 1000 * 3e-6 + 2000 * 3e-7 + 300 * 3.75e-6 + 50 * 1.5e-5;
// gpt-4o-mini: 1.5e-7 input, 6e-7 output, 7.5e-8 a cached token; 120 prompt tokens (100 cached), 30 out
const GPT_COST = 20 * 1.5e-7 + 100 * 7.5e-8 + 30 * 6e-7;
// gemini-2.0-flash: 1e-7 input, 4e-7 output; 400 in, 100 out
const GEMINI_COST = 400 * 1e-7 + 100 * 4e-7;
// us.anthropic.claude-3-5-haiku-20241022-v1:0: 8e-7 input, 4e-6 output, 8e-8 a cache read, 1e-6 a cache write
const BEDROCK_COST = 1000 * 8e-7 + 3000 * 8e-8 + 500 * 1e-6 + 200 * 4e-6;

const ANTHROPIC_SSE = [
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [],
        usage: { ...CLAUDE_USAGE, output_tokens: 1 },
      },
    },
  ],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 50 } }],
  ['message_stop', { type: 'message_stop' }],
]
  .map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
  .join('');

const OPENAI_SSE = [
  {
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }],
  },
  {
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
  },
  {
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini',
    choices: [],
    usage: {
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 100 },
    },
  },
]
  .map((c) => `data: ${JSON.stringify(c)}\n\n`)
  .join('')
  .concat('data: [DONE]\n\n');

const GEMINI_ANSWER = {
  candidates: [{ content: { role: 'model', parts: [{ text: 'Hi from Gemini' }] }, finishReason: 'STOP' }],
  usageMetadata: { promptTokenCount: 400, candidatesTokenCount: 100, totalTokenCount: 500 },
  modelVersion: 'gemini-2.0-flash-001',
};

/** Writes `text` in small pieces, so readers see events cut across network chunks. */
async function trickle(res: http.ServerResponse, text: string, contentType: string): Promise<void> {
  res.writeHead(200, { 'content-type': contentType });
  for (let i = 0; i < text.length; i += 37) {
    res.write(text.slice(i, i + 37));
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

function answer(call: { path: string; body: any }, res: http.ServerResponse): void | Promise<void> {
  const p = call.path;
  if (p === '/v1/messages') {
    if (call.body?.model === 'claude-overloaded')
      return sendJson(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    if (call.body?.stream) return trickle(res, ANTHROPIC_SSE, 'text/event-stream');
    return sendJson(res, 200, {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hello there' }],
      stop_reason: 'end_turn',
      usage: { ...CLAUDE_USAGE, output_tokens: 50 },
    });
  }
  if (p === '/v1/chat/completions') {
    if (call.body?.stream) return trickle(res, OPENAI_SSE, 'text/event-stream');
    return sendJson(res, 200, {
      id: 'c2',
      object: 'chat.completion',
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 120,
        completion_tokens: 30,
        total_tokens: 150,
        prompt_tokens_details: { cached_tokens: 100 },
      },
    });
  }
  if (p === '/own/v1/chat/completions') {
    // a target that prices its own calls (LiteLLM's pass-through contract): its figure is recorded as is
    const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
    const headers = call.body?.model === 'self-priced' ? { 'x-litellm-response-cost': '0.0125' } : {};
    return sendJson(
      res,
      200,
      { id: 'o1', object: 'chat.completion', model: call.body?.model, choices: [], usage },
      headers,
    );
  }
  if (p.endsWith(':generateContent')) return sendJson(res, 200, GEMINI_ANSWER);
  if (p.endsWith(':streamGenerateContent?alt=sse')) {
    const first = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'Hi from' }] } }],
      modelVersion: 'gemini-2.0-flash-001',
    };
    const last = {
      ...GEMINI_ANSWER,
      candidates: [{ content: { role: 'model', parts: [{ text: ' Gemini' }] }, finishReason: 'STOP' }],
    };
    return trickle(
      res,
      `data: ${JSON.stringify(first)}\r\n\r\ndata: ${JSON.stringify(last)}\r\n\r\n`,
      'text/event-stream',
    );
  }
  sendJson(res, 200, { data: [] });
}

let fake: RecordingFake;
let bedrock: BedrockFake;
let google: FakeGoogleToken;
let lf: FakeLangfuse;
let engine: TestEngine;
let settled: ReturnType<typeof recordSettled>;

beforeAll(async () => {
  fake = await startFake((call, res) => answer(call, res));
  bedrock = await startBedrockUpstream(AWS);
  google = await startFakeGoogleToken();
  lf = await startFakeLangfuse();
  engine = await startTestEngine(
    {
      model_list: [
        {
          // the same model as a deployment with prices of its own: a pass-through call of it is priced by them
          model_name: 'house-haiku',
          litellm_params: { model: 'anthropic/claude-haiku-4-5', api_key: 'sk-unused' },
          model_info: { input_cost_per_token: 1e-5, output_cost_per_token: 2e-5 },
        },
      ],
      litellm_settings: { callbacks: ['prometheus'], success_callback: ['langfuse'] },
      general_settings: {
        master_key: MASTER,
        proxy_batch_write_at: 0.02,
        pass_through_endpoints: [
          {
            path: '/my-llm',
            target: `${fake.url}/own`,
            include_subpath: true,
            headers: { authorization: 'Bearer own' },
          },
        ],
      },
    },
    {
      debug: true, // request lines logged: a key sent as ?key= must be masked in them
      env: {
        ANTHROPIC_API_KEY: 'sk-ant-upstream-meter',
        ANTHROPIC_API_BASE: fake.url,
        OPENAI_API_KEY: 'sk-openai-upstream-meter',
        OPENAI_API_BASE: `${fake.url}/v1`,
        AWS_BEDROCK_RUNTIME_ENDPOINT: bedrock.url,
        AWS_ACCESS_KEY_ID: 'AKIDMETERPASS',
        AWS_SECRET_ACCESS_KEY: AWS.AKIDMETERPASS.secret,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        VERTEXAI_API_BASE: fake.url,
        GEMINI_API_BASE: fake.url,
        GEMINI_API_KEY: 'gemini-upstream-key-7777',
        VERTEXAI_CREDENTIALS: JSON.stringify(google.serviceAccount),
        LANGFUSE_PUBLIC_KEY: lf.publicKey,
        LANGFUSE_SECRET_KEY: lf.secretKey,
        LANGFUSE_HOST: lf.url,
        LANGFUSE_FLUSH_INTERVAL: '0.05',
      },
    },
  );
  settled = recordSettled(engine);
}, 60_000);
afterAll(async () => {
  await engine?.close();
  await fake?.close();
  await bedrock?.close();
  await google?.close();
  await lf?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

const send = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(engine.url + path, { method: 'POST', headers, body: JSON.stringify(body) });

describe('a pass-through call settles with its usage and cost', () => {
  it('/anthropic/v1/messages, whole: cache reads and writes at their own prices; the answer as sent', async () => {
    const r = await send('/anthropic/v1/messages', {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(JSON.parse(text).usage.cache_read_input_tokens).toBe(2000);
    const e = await settled.eventOf(r.headers.get('x-request-id'));
    expect(e).toMatchObject({
      status: 'success',
      endpoint: 'messages',
      passThrough: '/anthropic/v1/messages',
      provider: 'anthropic',
      requestedModel: 'claude-sonnet-4-5',
      usage: { prompt: 3300, completion: 50, cached: 2000, cacheCreation: 300 },
      usageReported: true,
      stream: false,
    });
    expect(e.responseCost).toBeCloseTo(CLAUDE_COST, 15);
  });

  it("a model the config prices itself (model_info costs) is priced by the config's prices", async () => {
    const r = await send('/anthropic/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 5, messages: [] });
    const e = await settled.eventOf(r.headers.get('x-request-id'));
    // the override names input and output only: cache reads and writes keep the map's prices (1e-7, 1.25e-6)
    expect(e.responseCost).toBeCloseTo(1000 * 1e-5 + 2000 * 1e-7 + 300 * 1.25e-6 + 50 * 2e-5, 15);
  });

  it('/anthropic/v1/messages, streamed: usage from message_start and message_delta; bytes unchanged', async () => {
    const r = await send('/anthropic/v1/messages', {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(await r.text()).toBe(ANTHROPIC_SSE);
    const e = await settled.eventOf(r.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'success', stream: true, usage: { prompt: 3300, completion: 50 } });
    expect(e.responseCost).toBeCloseTo(CLAUDE_COST, 15);
    expect(e.timeToFirstTokenMs).toBeGreaterThan(0);
  });

  it('/openai/v1/chat/completions, whole and streamed (include_usage): cached tokens at their price', async () => {
    const whole = await send('/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] });
    await whole.text();
    const streamed = await send('/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [], stream: true });
    expect(await streamed.text()).toBe(OPENAI_SSE);
    for (const r of [whole, streamed]) {
      const e = await settled.eventOf(r.headers.get('x-request-id'));
      expect(e).toMatchObject({ endpoint: 'chat', provider: 'openai', usage: { prompt: 120, cached: 100 } });
      expect(e.responseCost).toBeCloseTo(GPT_COST, 15);
    }
  });

  it('/vertex_ai generateContent and streamGenerateContent (SSE): the model from the path', async () => {
    const base = '/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash';
    const body = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    const whole = await send(`${base}:generateContent`, body);
    expect(await whole.json()).toEqual(GEMINI_ANSWER);
    const streamed = await send(`${base}:streamGenerateContent?alt=sse`, body);
    await streamed.text();
    for (const [r, stream] of [
      [whole, false],
      [streamed, true],
    ] as const) {
      const e = await settled.eventOf(r.headers.get('x-request-id'));
      expect(e).toMatchObject({ provider: 'vertex_ai', requestedModel: 'gemini-2.0-flash', stream, apiBase: fake.url });
      expect(e.usage).toMatchObject({ prompt: 400, completion: 100 });
      expect(e.responseCost).toBeCloseTo(GEMINI_COST, 15);
    }
  });

  it('/gemini (Google AI Studio): the engine key as ?key= or x-goog-api-key; the upstream gets its own', async () => {
    const base = `${engine.url}/gemini/v1beta/models/gemini-2.0-flash`;
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    const json = { 'content-type': 'application/json' };
    const byQuery = await fetch(`${base}:generateContent?key=${MASTER}`, { method: 'POST', headers: json, body });
    expect(byQuery.status).toBe(200);
    expect(fake.calls[0].path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(fake.calls[0].headers['x-goog-api-key']).toBe('gemini-upstream-key-7777');
    const byHeader = await fetch(`${base}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { ...json, 'x-goog-api-key': MASTER },
      body,
    });
    expect(byHeader.status).toBe(200);
    await byHeader.text();
    expect(fake.calls[1].path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(JSON.stringify(fake.calls)).not.toContain(MASTER);
    // gemini/gemini-2.0-flash: the same prices as on Vertex AI
    for (const [r, stream] of [
      [byQuery, false],
      [byHeader, true],
    ] as const) {
      const e = await settled.eventOf(r.headers.get('x-request-id'));
      expect(e).toMatchObject({
        provider: 'gemini',
        passThrough: `/gemini/v1beta/models/gemini-2.0-flash:${stream ? 'streamGenerateContent' : 'generateContent'}`,
        stream,
      });
      expect(e.responseCost).toBeCloseTo(GEMINI_COST, 15);
    }
    const made = (await (await send('/key/generate', {})).json()) as { key: string };
    const virtual = await fetch(`${base}:generateContent?key=${made.key}`, { method: 'POST', headers: json, body });
    expect(virtual.status).toBe(200);
    fake.calls.length = 2;
    // a key in the query never reaches the logs (the request's debug line masks it)
    expect(engine.logs.join('\n')).not.toContain(made.key);
    expect(engine.logs.some((l) => l.includes(':generateContent?key=****'))).toBe(true);
    const wrong = await fetch(`${base}:generateContent?key=sk-wrong`, { method: 'POST', headers: json, body });
    expect(wrong.status).toBe(401);
    expect(fake.calls).toHaveLength(2);
  });

  it('/bedrock converse-stream: usage from the event stream metadata, cache reads and writes included', async () => {
    bedrock.script({ type: 'text', text: 'hi', usage: { input: 1000, output: 200, cacheRead: 3000, cacheWrite: 500 } });
    const model = encodeURIComponent('us.anthropic.claude-3-5-haiku-20241022-v1:0');
    const r = await send(`/bedrock/model/${model}/converse-stream`, {
      messages: [{ role: 'user', content: [{ text: 'hi' }] }],
    });
    expect(r.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const e = await settled.eventOf(r.headers.get('x-request-id'));
    expect(e).toMatchObject({
      provider: 'bedrock',
      requestedModel: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      stream: true,
      usage: { prompt: 4500, completion: 200, cached: 3000, cacheCreation: 500 },
    });
    expect(e.responseCost).toBeCloseTo(BEDROCK_COST, 15);
  });

  it('/bedrock invoke and invoke-with-response-stream (Claude): usage from its Anthropic-shaped answer', async () => {
    // anthropic.claude-3-haiku-20240307-v1:0: 2.5e-7 input, 1.25e-6 output, 2.5e-8 a cache read
    const cost = 100 * 2.5e-7 + 400 * 2.5e-8 + 20 * 1.25e-6;
    const model = encodeURIComponent('anthropic.claude-3-haiku-20240307-v1:0');
    const body = {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
    };
    for (const verb of ['invoke', 'invoke-with-response-stream']) {
      bedrock.script({ type: 'text', text: 'a b c', usage: { input: 100, output: 20, cacheRead: 400 } });
      const r = await send(`/bedrock/model/${model}/${verb}`, body);
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      const e = await settled.eventOf(r.headers.get('x-request-id'));
      expect(e.usage).toMatchObject({ prompt: 500, completion: 20, cached: 400 });
      expect(e.responseCost).toBeCloseTo(cost, 15);
    }
  });

  it('a configured route: OpenAI-shaped calls are read; a target that prices its own call is believed', async () => {
    const plain = await send('/my-llm/v1/chat/completions', { model: 'house-model', messages: [] });
    const priced = await send('/my-llm/v1/chat/completions', { model: 'self-priced', messages: [] });
    const a = await settled.eventOf(plain.headers.get('x-request-id'));
    expect(a).toMatchObject({ passThrough: '/my-llm/v1/chat/completions', usage: { prompt: 7, completion: 3 } });
    expect(a.unpriced).toBe(true); // a model the map does not know: reported unpriced, not free
    expect(engine.logs.filter((l) => l.includes('not in the price map') && l.includes('house-model'))).toHaveLength(1);
    const b = await settled.eventOf(priced.headers.get('x-request-id'));
    expect(b.responseCost).toBe(0.0125);
    expect(b.unpriced).toBeUndefined();
  });

  it('Langfuse: a Vertex AI call traced with its contents and answer; mask_input keeps the prompt out', async () => {
    const base = '/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash';
    const contents = [{ role: 'user', parts: [{ text: 'a secret prompt' }] }];
    const plain = await send(`${base}:generateContent`, { contents });
    const masked = await send(`${base}:generateContent`, { contents, metadata: { mask_input: true } });
    const generationOf = async (r: Response) => {
      const id = r.headers.get('x-request-id');
      await lf.until(() => lf.generations().some((g) => g.body.metadata?.litellm_call_id === id));
      return lf.generations().find((g) => g.body.metadata?.litellm_call_id === id)!.body;
    };
    const g = await generationOf(plain);
    expect(g).toMatchObject({ model: 'gemini-2.0-flash', input: contents, output: 'Hi from Gemini' });
    expect(g.usage).toMatchObject({ input: 400, output: 100 });
    expect(g.costDetails.total).toBeCloseTo(GEMINI_COST, 15);
    const m = await generationOf(masked);
    expect(m.input).toBe('redacted-by-litellm');
    expect(JSON.stringify(lf.events)).toContain('litellm-pass_through_endpoint');
    expect(JSON.stringify(m)).not.toContain('a secret prompt');
  });

  it('an upstream error settles as a failure with its status; the client gets the error as sent', async () => {
    const r = await send('/anthropic/v1/messages', { model: 'claude-overloaded', max_tokens: 5, messages: [] });
    expect(r.status).toBe(529);
    expect((await r.json()).error.type).toBe('overloaded_error');
    const e = await settled.eventOf(r.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'failure', httpStatus: 529, errorClass: 'overloaded' });
    expect(e.errorMessage).toContain('Overloaded');
  });

  it('what is not an inference call (a GET, an unknown path) is forwarded and not counted', async () => {
    const before = settled.events.length;
    const list = await fetch(`${engine.url}/openai/v1/models`, { headers: auth });
    expect(list.status).toBe(200);
    const batch = await send('/anthropic/v1/messages/batches', { requests: [] });
    expect(batch.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled.events.length).toBe(before);
  });

  it('spend logs: call_type pass_through_endpoint; /metrics: its route and spend', async () => {
    const r = await send('/anthropic/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] });
    const id = r.headers.get('x-request-id');
    await r.text();
    let row: any;
    for (let i = 0; i < 250 && !row; i++) {
      const logs = (await (await fetch(`${engine.url}/spend/logs?summarize=false`, { headers: auth })).json()) as any[];
      row = logs.find((l) => l.request_id === id);
      if (!row) await new Promise((res) => setTimeout(res, 20));
    }
    expect(row).toMatchObject({ call_type: 'pass_through_endpoint', model: 'claude-sonnet-4-5' });
    expect(row.spend).toBeCloseTo(CLAUDE_COST, 12);
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(
      /litellm_proxy_total_requests_metric_total\{[^}]*route="\/anthropic\/v1\/messages"[^}]*\} \d+/,
    );
    expect(metrics).toMatch(/litellm_spend_metric_total\{[^}]*model="claude-sonnet-4-5"[^}]*\} 0\.0\d+/);
  });
});

describe("a virtual key's limits hold on pass-through routes", () => {
  it('a key limited to some models is refused another one (403) and nothing goes upstream', async () => {
    const made = await send('/key/generate', { models: ['gpt-4o-mini'] });
    const { key } = (await made.json()) as { key: string };
    const asKey = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const r = await send('/anthropic/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] }, asKey);
    expect(r.status).toBe(403);
    expect((await r.json()).error.message).toContain('not allowed to access model');
    expect(fake.calls).toHaveLength(0);
    const ok = await send('/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, asKey);
    expect(ok.status).toBe(200);
  });

  it('spends the key; once over its budget the key is refused and nothing goes upstream', async () => {
    const made = await send('/key/generate', { max_budget: CLAUDE_COST * 1.5 });
    const { key } = (await made.json()) as { key: string };
    const asKey = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const body = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    for (let i = 0; i < 2; i++) {
      const r = await send('/anthropic/v1/messages', body, asKey);
      expect(r.status).toBe(200);
      await settled.eventOf(r.headers.get('x-request-id'));
    }
    fake.calls.length = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await send('/anthropic/v1/messages', body, asKey);
      if (r.status !== 200) refused = r;
      else await new Promise((res) => setTimeout(res, 20)); // the spend reaches the key's row in batches
    }
    expect(refused?.status).toBe(429);
    expect((await refused!.json()).error.message).toMatch(/budget/i);
    fake.calls.length = 0;
    const again = await send('/anthropic/v1/messages', body, asKey);
    expect(again.status).toBe(429);
    expect(fake.calls).toHaveLength(0);
    const info = (await (await fetch(`${engine.url}/key/info?key=${key}`, { headers: auth })).json()) as any;
    expect(info.info.spend).toBeGreaterThanOrEqual(2 * CLAUDE_COST - 1e-12);
    // a call the engine does not price (a batch, a listing) is refused too once the budget is spent
    const batch = await send('/anthropic/v1/messages/batches', { requests: [] }, asKey);
    expect(batch.status).toBe(429);
    expect((await batch.json()).error.message).toMatch(/budget/i);
    const list = await fetch(`${engine.url}/openai/v1/models`, { headers: asKey });
    expect(list.status).toBe(429);
    expect(fake.calls).toHaveLength(0);
    // and a key within its budget gets them
    const other = (await (await send('/key/generate', { max_budget: 1 })).json()) as { key: string };
    const listed = await fetch(`${engine.url}/openai/v1/models`, { headers: { authorization: `Bearer ${other.key}` } });
    expect(listed.status).toBe(200);
  });
});
