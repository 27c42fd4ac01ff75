/**
 * /v1/responses with the official openai SDK as the client: natively to an OpenAI upstream that serves the
 * Responses API (the fake's /v1/responses), and translated through chat to Anthropic (and to an OpenAI-compatible
 * chat server). The store behind retrieve, delete and previous_response_id is the engine's.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SettledEvent } from '../../src/engine/index.js';
import type { ContractFake } from '../contract/harness.js';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-responses-1357';
const OPENAI_KEY = 'sk-upstream-openai-9999';
let openaiFake: FakeUpstream;
let brokenFake: FakeUpstream;
let anthropic: ContractFake;
let engine: TestEngine;
let client: OpenAI;
const events: SettledEvent[] = [];

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};

beforeAll(async () => {
  openaiFake = await startOpenAIUpstream();
  brokenFake = await startOpenAIUpstream();
  brokenFake.setFault({ kind: 'status', status: 500 });
  anthropic = await startAnthropicUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'gpt',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${openaiFake.url}/v1`, api_key: OPENAI_KEY },
        },
        {
          model_name: 'claude',
          litellm_params: {
            model: 'anthropic/claude-3-5-sonnet-20241022',
            api_base: anthropic.url,
            api_key: ANTHROPIC_FAKE_KEY,
          },
        },
        // an OpenAI-compatible server without the Responses API: chat, translated
        { model_name: 'vllm', litellm_params: { model: 'hosted_vllm/llama', api_base: `${openaiFake.url}/v1` } },
        { model_name: 'gpt-down', litellm_params: { model: 'openai/gpt-4o', api_base: `${brokenFake.url}/v1` } },
        {
          model_name: 'gpt-capped',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${openaiFake.url}/v1`, max_tokens: 77 },
        },
        {
          model_name: 'azure-gpt',
          litellm_params: { model: 'azure/gpt4o-prod', api_base: openaiFake.url, api_key: 'azure-key-1' },
        },
      ],
      router_settings: { num_retries: 0, disable_cooldowns: true, fallbacks: [{ 'gpt-down': ['claude'] }] },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  engine.onSettled((e) => {
    events.push(e);
    return undefined;
  });
  client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: MASTER, maxRetries: 0, timeout: 10_000 });
});
afterAll(async () => {
  await engine?.close();
  await openaiFake?.close();
  await brokenFake?.close();
  await anthropic?.close();
});
beforeEach(() => {
  openaiFake.requests.length = 0;
  anthropic.calls.length = 0;
  events.length = 0;
});

/** The settled events, once the bus has delivered them. */
async function settled(n = 1): Promise<SettledEvent[]> {
  for (let i = 0; i < 100 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return events.slice();
}

describe('natively to an OpenAI upstream', () => {
  it('create: the upstream /v1/responses gets the request (its own key), the client its answer and usage', async () => {
    const r = await client.responses.create({
      model: 'gpt',
      input: 'hello there',
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.2,
    });
    expect(r.output_text).toBe('echo: hello there');
    expect(r.usage).toMatchObject({ input_tokens: 13, output_tokens: 5, total_tokens: 18 });
    const sent = openaiFake.requests[0];
    expect(sent.path).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(sent.body).toMatchObject({
      model: 'gpt-4o',
      input: 'hello there',
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.2,
    });
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', status: 'success', provider: 'openai', requestedModel: 'gpt' });
    expect(e.usage).toMatchObject({ prompt: 13, completion: 5, total: 18, cached: 2 });
  });

  it('stream: the upstream events in order with sequence numbers, finalResponse() whole', async () => {
    const stream = client.responses.stream({ model: 'gpt', input: 'stream me please' });
    const types: string[] = [];
    const seqs: number[] = [];
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('echo: stream me please');
    expect(types[0]).toBe('response.created');
    expect(types[1]).toBe('response.in_progress');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.delta');
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(openaiFake.requests[0].body).toMatchObject({ stream: true, input: 'stream me please' });
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', stream: true, status: 'success' });
    expect(e.usage).toMatchObject({ prompt: 13, completion: 5 });
  });

  it('retrieve and delete the stored response; store: false keeps nothing', async () => {
    const r = await client.responses.create({ model: 'gpt', input: 'remember me' });
    const got = await client.responses.retrieve(r.id);
    expect(got.id).toBe(r.id);
    expect(got.output_text).toBe('echo: remember me');
    await client.responses.delete(r.id);
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.delete(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const unstored = await client.responses.create({ model: 'gpt', input: 'forget me', store: false });
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('previous_response_id: the upstream gets the whole conversation from the engine, not the id', async () => {
    const first = await client.responses.create({ model: 'gpt', input: 'my name is Ada' });
    const second = await client.responses.create({
      model: 'gpt',
      input: 'what is my name?',
      previous_response_id: first.id,
    });
    expect(second.previous_response_id).toBe(first.id);
    const body = openaiFake.requests[1].body!;
    expect(body.previous_response_id).toBeUndefined();
    expect(body.input).toEqual([
      { type: 'message', role: 'user', content: 'my name is Ada' },
      {
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'echo: my name is Ada', annotations: [] }],
      },
      { type: 'message', role: 'user', content: 'what is my name?' },
    ]);
    // the items it was made from: the earlier turn's, then its own (newest first unless asked), paged by id
    const asc = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(asc.data.map((i) => (i as { role?: string }).role)).toEqual(['user', 'assistant', 'user']);
    expect(asc.data.every((i) => typeof i.id === 'string')).toBe(true);
    const paged: string[] = [];
    for await (const item of client.responses.inputItems.list(second.id, { limit: 1 })) paged.push(item.id!);
    expect(paged).toEqual(asc.data.map((i) => i.id).reverse());
    // a third turn continues from the second: all five items go up
    const stream = client.responses.stream({ model: 'gpt', input: 'and again?', previous_response_id: second.id });
    const final = await stream.finalResponse();
    expect(final.previous_response_id).toBe(second.id);
    expect((openaiFake.requests[2].body!.input as unknown[]).length).toBe(5);
  });

  it("a deployment's max_tokens default goes up as max_output_tokens (the request's own cap wins)", async () => {
    await client.responses.create({ model: 'gpt-capped', input: 'a' });
    await client.responses.create({ model: 'gpt-capped', input: 'b', max_output_tokens: 12 });
    const [first, second] = openaiFake.requests.map((r) => r.body!);
    expect(first.max_tokens).toBeUndefined();
    expect(first.max_output_tokens).toBe(77);
    expect(second.max_output_tokens).toBe(12);
  });

  it('Azure OpenAI: its v1 surface (/openai/v1/responses, the deployment as model, the api-key header)', async () => {
    const r = await client.responses.create({ model: 'azure-gpt', input: 'hello azure' });
    expect(r.output_text).toBe('echo: hello azure');
    const sent = openaiFake.requests[0];
    expect(sent.path).toBe('/openai/v1/responses');
    expect(sent.headers['api-key']).toBe('azure-key-1');
    expect(sent.body).toMatchObject({ model: 'gpt4o-prod', input: 'hello azure' });
  });

  it('an upstream that fails falls back to a translated group (Anthropic), all in the Responses shape', async () => {
    anthropic.script({ type: 'text', text: 'fallback answer', usage: { input: 9, output: 2 } });
    const { data: r, response } = await client.responses.create({ model: 'gpt-down', input: 'hi' }).withResponse();
    expect(r.output_text).toBe('fallback answer');
    expect(r.model).toBe('claude');
    expect(response.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    const e = (await settled())[0];
    expect(e).toMatchObject({ endpoint: 'responses', provider: 'anthropic', attemptedFallbacks: 1 });
  });
});

/** POST a streamed request with fetch: the status and the SSE text as sent. */
async function rawStream(model: string, input: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${engine.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input, stream: true }),
  });
  return { status: res.status, text: await res.text() };
}

describe('streams that break before their first content', () => {
  it('a native stream cut after response.created is retried elsewhere: the client sees one clean stream', async () => {
    // the upstream sends response.created and response.in_progress, then drops the connection
    brokenFake.setFault({ kind: 'cut-stream', after: 2 });
    brokenFake.setOptions({ chunkIntervalMs: 30 }); // each event in a read of its own
    anthropic.script({ type: 'text', text: 'from the fallback', usage: { input: 5, output: 3 } });
    try {
      const stream = client.responses.stream({ model: 'gpt-down', input: 'hello' });
      const types: string[] = [];
      for await (const ev of stream) types.push(ev.type);
      const final = await stream.finalResponse();
      expect(final.output_text).toBe('from the fallback');
      expect(types.filter((t) => t === 'response.created')).toHaveLength(1);
      expect(brokenFake.requests.at(-1)!.path).toBe('/v1/responses');
    } finally {
      brokenFake.setFault({ kind: 'status', status: 500 });
      brokenFake.setOptions({ chunkIntervalMs: 0 });
    }
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', stream: true, status: 'success', attemptedFallbacks: 1 });
  });
});

describe('translated through chat (Anthropic)', () => {
  it("the wire: `event:` lines naming each data object's type, no chat chunks, no [DONE]", async () => {
    anthropic.script({ type: 'text', text: 'wire check', usage: { input: 4, output: 2 } });
    const { status, text } = await rawStream('claude', 'hi');
    expect(status).toBe(200);
    const frames = text.trim().split('\n\n');
    for (const f of frames) {
      const m = /^event: (\S+)\ndata: (.*)$/.exec(f);
      expect(m, f).not.toBeNull();
      expect(JSON.parse(m![2]).type).toBe(m![1]);
    }
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('chat.completion');
    const last = JSON.parse(frames.at(-1)!.split('\ndata: ')[1]);
    expect(last).toMatchObject({
      type: 'response.completed',
      response: { status: 'completed' },
    });
    expect(last.response.output[0].content[0].text).toBe('wire check');
  });

  it('create: instructions become the system prompt, usage maps to input/output tokens', async () => {
    anthropic.script({ type: 'text', text: 'Bonjour', usage: { input: 21, output: 5 } });
    const r = await client.responses.create({
      model: 'claude',
      instructions: 'Answer in French.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello' }] }],
      max_output_tokens: 64,
    });
    expect(r).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'claude',
      instructions: 'Answer in French.',
      max_output_tokens: 64,
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
    });
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(r.output_text).toBe('Bonjour');
    const sent = anthropic.calls[0].body;
    expect(JSON.stringify(sent.system)).toContain('Answer in French.');
    expect(sent).toMatchObject({ max_tokens: 64, messages: [{ role: 'user' }] });
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', provider: 'anthropic' });
    expect(e.usage).toMatchObject({ prompt: 21, completion: 5 });
    expect((await client.responses.retrieve(r.id)).output_text).toBe('Bonjour');
  });

  it('stream: the Responses events in their documented order, numbered from 0', async () => {
    anthropic.script({ type: 'text', text: 'one two three', usage: { input: 8, output: 3 } });
    const stream = client.responses.stream({ model: 'claude', input: 'count', max_output_tokens: 20 });
    const seen: { type: string; seq: number }[] = [];
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (ev) => deltas.push(ev.delta));
    for await (const ev of stream) seen.push({ type: ev.type, seq: ev.sequence_number });
    const final = await stream.finalResponse();
    const types = seen.map((s) => s.type);
    const collapsed = types.filter((t, i) => t !== types[i - 1]);
    expect(collapsed).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(seen.map((s) => s.seq)).toEqual(seen.map((_, i) => i));
    expect(deltas.join('')).toBe('one two three');
    expect(final.output_text).toBe('one two three');
    expect(final.status).toBe('completed');
    expect(final.usage).toMatchObject({ input_tokens: 8, output_tokens: 3 });
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', stream: true, status: 'success' });
    expect(e.usage).toMatchObject({ prompt: 8, completion: 3 });
    expect((await client.responses.retrieve(final.id)).output_text).toBe('one two three');
  });

  it('a function tool round trip: the call item, then its output continuing the conversation', async () => {
    anthropic.script({
      type: 'tool_call',
      id: 'toolu_1',
      name: 'get_weather',
      args: { city: 'Paris' },
      usage: { input: 30, output: 10 },
    });
    const first = await client.responses.create({ model: 'claude', input: 'weather in Paris?', tools: [weather] });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', call_id: 'toolu_1', name: 'get_weather' });
    expect(JSON.parse((call as { arguments: string }).arguments)).toEqual({ city: 'Paris' });
    expect(anthropic.calls[0].body.tools).toMatchObject([{ name: 'get_weather', input_schema: weather.parameters }]);

    anthropic.script({ type: 'text', text: 'Sunny in Paris', usage: { input: 40, output: 4 } });
    const second = await client.responses.create({
      model: 'claude',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: 'toolu_1', output: '{"sky":"sunny"}' }],
      tools: [weather],
    });
    expect(second.output_text).toBe('Sunny in Paris');
    const msgs = anthropic.calls[1].body.messages as { role: string; content: { type: string }[] }[];
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(msgs[1].content).toContainEqual(
      expect.objectContaining({ type: 'tool_use', id: 'toolu_1', name: 'get_weather' }),
    );
    expect(msgs[2].content).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        tool_use_id: 'toolu_1',
        content: expect.stringContaining('sunny'),
      }),
    );
  });

  it('a streamed function call: arguments deltas, then the whole item in finalResponse()', async () => {
    anthropic.script({
      type: 'tool_call',
      id: 'toolu_2',
      name: 'get_weather',
      args: { city: 'Oslo' },
      usage: { input: 30, output: 10 },
    });
    const stream = client.responses.stream({ model: 'claude', input: 'weather in Oslo?', tools: [weather] });
    const types: string[] = [];
    let args = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(JSON.parse(args)).toEqual({ city: 'Oslo' });
    expect(types).toContain('response.function_call_arguments.done');
    expect(final.output).toMatchObject([{ type: 'function_call', call_id: 'toolu_2', name: 'get_weather' }]);
    expect(JSON.parse((final.output[0] as { arguments: string }).arguments)).toEqual({ city: 'Oslo' });
  });

  it('a built-in tool that chat cannot carry is a 400 naming it', async () => {
    const err = await client.responses
      .create({ model: 'claude', input: 'search', tools: [{ type: 'web_search_preview' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('web_search_preview');
    expect(anthropic.calls).toHaveLength(0);
  });
});

describe('translated to an OpenAI-compatible chat server', () => {
  it('text.format json_schema, reasoning effort and the output cap go out in chat terms', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const r = await client.responses.create({
      model: 'vllm',
      input: [
        { role: 'developer', content: 'Reply in JSON.' },
        { role: 'user', content: 'hi' },
      ],
      text: { format: { type: 'json_schema', name: 'reply', schema, strict: true } },
      reasoning: { effort: 'low' },
      max_output_tokens: 33,
      store: false,
    });
    expect(r.output_text).toBe('echo: hi');
    expect(r.store).toBe(false);
    const sent = openaiFake.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({
      model: 'llama',
      messages: [
        { role: 'system', content: 'Reply in JSON.' },
        { role: 'user', content: 'hi' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } },
      reasoning_effort: 'low',
      max_tokens: 33,
    });
    expect(sent.body!.input).toBeUndefined();
    expect(sent.body!.text).toBeUndefined();
  });
});

describe('errors in OpenAI shape', () => {
  it('a missing input, a bad field, an unknown previous response and an unknown id', async () => {
    const noInput = await fetch(`${engine.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt' }),
    });
    expect(noInput.status).toBe(400);
    expect(await noInput.json()).toMatchObject({ error: { param: 'input', code: 'missing_required_parameter' } });
    await expect(client.responses.create({ model: 'gpt', input: 'x', max_output_tokens: -1 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    const prev = await client.responses
      .create({ model: 'gpt', input: 'x', previous_response_id: 'resp_nope' })
      .catch((e: unknown) => e);
    expect(prev).toBeInstanceOf(OpenAI.NotFoundError);
    expect((prev as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('previous_response_id');
    await expect(client.responses.retrieve('resp_nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const unauth = await fetch(`${engine.url}/v1/responses/resp_nope`);
    expect(unauth.status).toBe(401);
    const listing = await fetch(`${engine.url}/v1/responses`, { headers: { authorization: `Bearer ${MASTER}` } });
    expect(listing.status).toBe(405);
    expect(await listing.json()).toMatchObject({ error: { message: expect.stringContaining('GET') } });
    expect(openaiFake.requests).toHaveLength(0);
  });

  it('an upstream error mid-stream ends the stream with an error event the SDK raises', async () => {
    // events spaced out, so the error comes in a read of its own, after text went to the client
    openaiFake.setFault({ kind: 'error-event' });
    openaiFake.setOptions({ chunkIntervalMs: 25 });
    try {
      const stream = client.responses.stream({ model: 'gpt', input: 'boom goes the stream' });
      const deltas: string[] = [];
      stream.on('response.output_text.delta', (ev) => deltas.push(ev.delta));
      await expect(stream.finalResponse()).rejects.toThrow(/upstream exploded/);
      expect(deltas.length).toBeGreaterThan(0); // it failed after the stream had started
      const raw = await rawStream('gpt', 'boom again');
      expect(raw.status).toBe(200);
      expect(raw.text).toMatch(
        /event: error\ndata: \{"type":"error","code":"server_error","message":"[^"]*upstream exploded/,
      );
    } finally {
      openaiFake.setFault(undefined);
      openaiFake.setOptions({ chunkIntervalMs: 0 });
    }
    const [e] = await settled();
    expect(e).toMatchObject({ endpoint: 'responses', status: 'failure', httpStatus: 200 });
  });
});

describe('without a database (no master key): the in-memory store', () => {
  it('retrieves, continues and deletes responses; a mock_response model answers through the translation', async () => {
    const plain = await startTestEngine({
      model_list: [
        { model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_base: `${openaiFake.url}/v1` } },
        { model_name: 'mock', litellm_params: { model: 'openai/gpt-4o', mock_response: 'mocked answer' } },
      ],
    });
    try {
      const first = await plain.openai.responses.create({ model: 'gpt', input: 'one' });
      expect((await plain.openai.responses.retrieve(first.id)).output_text).toBe('echo: one');
      await plain.openai.responses.create({ model: 'gpt', input: 'two', previous_response_id: first.id });
      expect((openaiFake.requests.at(-1)!.body!.input as unknown[]).length).toBe(3);
      await plain.openai.responses.delete(first.id);
      await expect(plain.openai.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const mocked = await plain.openai.responses.stream({ model: 'mock', input: 'anything' }).finalResponse();
      expect(mocked.output_text).toBe('mocked answer');
      expect((await plain.openai.responses.retrieve(mocked.id)).output_text).toBe('mocked answer');
    } finally {
      await plain.close();
    }
  });
});
