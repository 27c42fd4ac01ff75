/**
 * /v1/messages as Claude Code uses it, in front of an Anthropic deployment: the request set in
 * test/fixtures/claude-code.ts goes upstream as the client wrote it (server tools, thinking signatures,
 * cache_control, anthropic-beta), and the answer comes back byte for byte. count_tokens asks the upstream.
 * A translated (OpenAI) deployment refuses what it cannot run with a 400 naming it.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toOpenAIRequest } from '../../src/engine/anthropic-messages/request.js';
import type { SettledEvent } from '../../src/engine/index.js';
import { countPromptTokens } from '../../src/engine/router/pre-call.js';
import { ANTHROPIC_FAKE_KEY, fakeTokenCount, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { refusedUrl } from '../fakes/fake-server.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import {
  byteSplits,
  CLAUDE_CODE_HEADERS,
  FIRST_TURN,
  IMAGE_ANSWER,
  IMAGE_TURN,
  SERVER_TOOLS,
  THINKING_STREAM,
  TOOL_CYCLE,
  WEB_SEARCH_STREAM,
} from '../fixtures/claude-code.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-native-1357';
const UPSTREAM_MODEL = 'claude-sonnet-4-5-20250929';
let fake: Awaited<ReturnType<typeof startAnthropicUpstream>>;
let openai: FakeUpstream;
let engine: TestEngine;
let client: Anthropic;
const events: SettledEvent[] = [];

beforeAll(async () => {
  fake = await startAnthropicUpstream();
  openai = await startOpenAIUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude-sonnet-4-5',
          litellm_params: { model: `anthropic/${UPSTREAM_MODEL}`, api_base: fake.url, api_key: ANTHROPIC_FAKE_KEY },
        },
        {
          model_name: 'claude-down',
          litellm_params: { model: `anthropic/${UPSTREAM_MODEL}`, api_base: await refusedUrl(), api_key: 'sk-x' },
        },
        {
          model_name: 'gpt-4o',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${openai.url}/v1`, api_key: 'sk-openai-fake' },
        },
      ],
      router_settings: {
        num_retries: 0,
        disable_cooldowns: true,
        fallbacks: [{ 'claude-down': ['claude-sonnet-4-5'] }],
      },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  engine.onSettled((e) => void events.push(e));
  client = new Anthropic({ baseURL: engine.url, apiKey: MASTER, maxRetries: 0, timeout: 20_000 });
}, 60_000); // a slow start on a busy machine
afterAll(async () => {
  await engine?.close();
  await fake?.close();
  await openai?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  openai.requests.length = 0;
  events.length = 0;
});

/** POST a fixture as Claude Code would (its headers, the master key as x-api-key); the raw answer text. */
async function send(body: object, path = '/v1/messages') {
  const r = await fetch(engine.url + path, {
    method: 'POST',
    headers: { ...CLAUDE_CODE_HEADERS, 'content-type': 'application/json', 'x-api-key': MASTER },
    body: JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The settled event of the request with this id (events arrive batched, after the answer). */
const settled = async (id: string | null) => {
  const find = () => events.find((e) => e.callId === id);
  for (let i = 0; i < 100 && !find(); i++) await new Promise((r) => setTimeout(r, 10));
  return find()!;
};

describe('Claude Code request shapes against an Anthropic deployment', () => {
  it.each([
    ['first turn: system blocks with cache_control, thinking, streamed', FIRST_TURN, THINKING_STREAM],
    ['tool_use / tool_result cycle with signed thinking and an image result', TOOL_CYCLE, THINKING_STREAM],
    ['server tools and their blocks from an earlier turn', SERVER_TOOLS, WEB_SEARCH_STREAM],
  ])('%s: the upstream gets the request as sent, the client the stream byte for byte', async (_, body, stream) => {
    fake.reply({ sse: byteSplits(stream) });
    const r = await send(body);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    expect(r.text).toBe(stream);
    expect(fake.calls).toHaveLength(1);
    const up = fake.calls[0];
    expect(up.path).toBe('/v1/messages');
    expect(up.body).toEqual({ ...body, model: UPSTREAM_MODEL });
    expect(up.headers['anthropic-beta']).toBe(CLAUDE_CODE_HEADERS['anthropic-beta']);
    expect(up.headers['anthropic-version']).toBe('2023-06-01');
    expect(up.headers['x-api-key']).toBe(ANTHROPIC_FAKE_KEY);
    expect(up.raw).not.toContain(MASTER);
    expect(up.headers.authorization).toBeUndefined();
  });

  it('an image turn, not streamed: the upstream body unchanged; usage reaches the settled event', async () => {
    fake.reply({ json: IMAGE_ANSWER });
    const r = await send(IMAGE_TURN);
    expect(r.status).toBe(200);
    expect(r.text).toBe(IMAGE_ANSWER);
    expect(r.headers.get('x-litellm-model-group')).toBe('claude-sonnet-4-5');
    expect(fake.calls[0].body).toEqual({ ...IMAGE_TURN, model: UPSTREAM_MODEL });
    const e = await settled(r.headers.get('x-request-id'));
    expect(e.status).toBe('success');
    expect(e.usage).toMatchObject({ prompt: 1580, completion: 9 });
  });

  it('the router still decides: an unreachable deployment falls back, the stream is still byte for byte', async () => {
    fake.reply({ sse: byteSplits(WEB_SEARCH_STREAM) });
    const r = await send({ ...SERVER_TOOLS, model: 'claude-down' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    expect(r.text).toBe(WEB_SEARCH_STREAM);
    expect(fake.calls[0].body).toEqual({ ...SERVER_TOOLS, model: UPSTREAM_MODEL });
  });

  it('a streamed answer with cache writes reports its usage (cache included) to the settled event', async () => {
    fake.reply({ sse: byteSplits(THINKING_STREAM) });
    const r = await send(FIRST_TURN);
    const e = await settled(r.headers.get('x-request-id'));
    expect(e.usage).toMatchObject({ prompt: 12 + 2100, completion: 87, cacheCreation: 2100 });
  });
});

describe('the official SDK against an Anthropic deployment', () => {
  it('messages.stream with thinking: thinking and signature deltas arrive, the final message holds both', async () => {
    fake.reply({ sse: byteSplits(THINKING_STREAM) });
    const deltas: string[] = [];
    const s = client.messages.stream(FIRST_TURN as unknown as Anthropic.MessageStreamParams, {
      headers: { 'anthropic-beta': CLAUDE_CODE_HEADERS['anthropic-beta'] },
    });
    s.on('streamEvent', (ev) => {
      if (ev.type === 'content_block_delta') deltas.push(ev.delta.type);
    });
    const m = await s.finalMessage();
    expect(deltas).toEqual([
      'thinking_delta',
      'thinking_delta',
      'signature_delta',
      'text_delta',
      'text_delta',
      'input_json_delta',
      'input_json_delta',
    ]);
    expect(m.content[0]).toEqual({
      type: 'thinking',
      thinking: 'The sum is off by one; check the test first.',
      signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
    });
    expect(m.content[1]).toMatchObject({ type: 'text', text: 'Je vais lancer les tests — ça prend 2 s ✅' });
    expect(m.content[2]).toEqual({
      type: 'tool_use',
      id: 'toolu_01NewCall',
      name: 'Bash',
      input: { command: 'npm test' },
    });
    expect(m.stop_reason).toBe('tool_use');
    expect(m.usage).toMatchObject({ output_tokens: 87, cache_creation_input_tokens: 2100 });
  });

  it('messages.create with server tools: server_tool_use and web_search_tool_result come back as sent', async () => {
    const answer = {
      id: 'msg_01Srv',
      type: 'message',
      role: 'assistant',
      model: UPSTREAM_MODEL,
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'node lts' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
        { type: 'text', text: 'No results.' },
      ],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 20, server_tool_use: { web_search_requests: 1 } },
    };
    fake.reply({ json: JSON.stringify(answer) });
    const { stream: _, ...req } = SERVER_TOOLS;
    const m = await client.messages.create(req as unknown as Anthropic.MessageCreateParamsNonStreaming);
    expect(m).toEqual(answer);
    expect(fake.calls[0].body.tools).toEqual(SERVER_TOOLS.tools);
  });

  it('messages.countTokens is the upstream count_tokens answer (no max_tokens or stream sent upstream)', async () => {
    const { stream: _s, max_tokens: _m, metadata: _d, ...countable } = TOOL_CYCLE;
    const r = await client.messages.countTokens(countable as unknown as Anthropic.MessageCountTokensParams);
    expect(r).toEqual({ input_tokens: fakeTokenCount(countable) });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].path).toBe('/v1/messages/count_tokens');
    expect(fake.calls[0].body).toEqual({ ...countable, model: UPSTREAM_MODEL });
    // a Claude Code body with max_tokens and stream: only what count_tokens takes goes up
    const raw = await send(FIRST_TURN, '/v1/messages/count_tokens');
    expect(raw.status).toBe(200);
    expect(fake.calls[1].body).not.toHaveProperty('max_tokens');
    expect(fake.calls[1].body).not.toHaveProperty('metadata');
    expect(JSON.parse(raw.text).input_tokens).toBe(fakeTokenCount(FIRST_TURN));
  });

  it('an upstream error comes back as the SDK error it names', async () => {
    fake.script({ type: 'error', error: 'overloaded', message: 'busy' });
    const e = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.APIError);
    expect((e as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
  });
});

describe('a translated (OpenAI) deployment', () => {
  it('server tools are a 400 naming the tool and the provider; the upstream is never called', async () => {
    const e = await client.messages
      .create({
        model: 'gpt-4o',
        max_tokens: 100,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'search' }],
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    const msg = (e as Error).message;
    expect(msg).toContain('web_search_20250305');
    expect(msg).toContain('OpenAI');
    expect(openai.requests).toHaveLength(0);
  });

  it('thinking, signatures and cache_control are dropped, the rest translated: Claude Code still works', async () => {
    const { thinking: _t, ...rest } = TOOL_CYCLE;
    const m = await client.messages.create({
      ...(rest as unknown as Anthropic.MessageCreateParamsNonStreaming),
      stream: false,
      model: 'gpt-4o',
    });
    expect(m.type).toBe('message');
    expect(openai.requests).toHaveLength(1);
    expect(JSON.stringify(openai.requests[0].body)).not.toContain('signature');
  });

  it('count_tokens estimates with the cl100k_base tokenizer, images counted at 1,600 each', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three four five' }] };
    const withImage = { model: 'gpt-4o', messages: [{ role: 'user', content: [...IMAGE_TURN.messages[0].content] }] };
    // what the tokenizer says for the translated requests
    const expected = async (b: Record<string, unknown>) =>
      countPromptTokens('chat', toOpenAIRequest(b, { requireMaxTokens: false }).body, 'cl100k_base');
    const count = async (b: object) => JSON.parse((await send(b, '/v1/messages/count_tokens')).text).input_tokens;
    // the first counts may come before the tokenizer has loaded (the rule-of-thumb estimate): wait for it
    const want = await expected(body);
    let got = 0;
    for (let i = 0; i < 300 && got !== want; i++) {
      got = await count(body);
      if (got !== want) await new Promise((r) => setTimeout(r, 100));
    }
    expect(got).toBe(want);
    expect(await count(withImage)).toBe((await expected(withImage)) + 1600);
    expect(openai.requests).toHaveLength(0);
  });
});
