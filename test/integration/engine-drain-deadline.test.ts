/**
 * Streams still open when the engine's drain deadline passes (SIGTERM, `worker stop`): the client is told, in
 * its API's words, that the stream was cut (OpenAI: an error event then `[DONE]`; Anthropic: `event: error`),
 * instead of a connection that just ends, and the request settles as a failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, type SettledEvent, startEngine } from '../../src/engine/index.js';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';

let engine: EngineHandle | undefined;
let up: FakeUpstream | FaultUpstream | undefined;
afterEach(async () => {
  await engine?.close();
  await up?.close();
  engine = up = undefined;
});

/** An engine over a fake upstream that streams a word every 50 ms for far longer than the drain budget. */
async function slowStreamEngine(got: SettledEvent[]): Promise<EngineHandle> {
  up = await startOpenAIUpstream({ chunkIntervalMs: 50, repeat: 500 });
  return engineFor(`${up.url}/v1`, got);
}

async function engineFor(apiBase: string, got: SettledEvent[]): Promise<EngineHandle> {
  const config = { model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_base: apiBase } }] };
  const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'test-config' }, { env: {} });
  const logger = createLogger({ level: 'error', secrets: [], write: () => undefined });
  engine = await startEngine({
    loaded,
    port: 0,
    logger,
    env: {},
    drainTimeoutMs: 300,
    subscribers: [(e) => void got.push(e)],
  });
  return engine;
}

/** Start a stream, wait for its first bytes, close the engine, and return everything the client received. */
async function cutStream(e: EngineHandle, path: string, body: unknown): Promise<string> {
  const res = await fetch(`${e.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });
  const closed = e.close();
  for (;;) {
    const r = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (r.done) break;
    text += decoder.decode(r.value, { stream: true });
  }
  await closed;
  return text;
}

describe('the drain deadline', () => {
  it('ends an open OpenAI stream with an error event then [DONE], and settles it as a failure', async () => {
    const got: SettledEvent[] = [];
    const e = await slowStreamEngine(got);
    const text = await cutStream(e, '/v1/chat/completions', {
      model: 'gpt',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(text).toContain('"delta"'); // some of the answer went out first
    const events = text.trimEnd().split('\n\n');
    expect(events.at(-1)).toBe('data: [DONE]');
    const error = JSON.parse(events.at(-2)!.slice('data: '.length));
    expect(error.error).toMatchObject({ code: '503', type: 'service_unavailable_error' });
    expect(error.error.message).toMatch(/shutting down.*drain/);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ stream: true, status: 'failure', errorClass: 'overloaded' });
  });

  it("ends an open /v1/messages stream with Anthropic's event: error", async () => {
    const got: SettledEvent[] = [];
    const e = await slowStreamEngine(got);
    const text = await cutStream(e, '/v1/messages', {
      model: 'gpt',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(text).toContain('event: content_block_delta');
    const last = text.trimEnd().split('\n\n').at(-1)!;
    expect(last.split('\n')[0]).toBe('event: error');
    const body = JSON.parse(last.split('\n')[1].slice('data: '.length));
    expect(body).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(got[0]).toMatchObject({ stream: true, status: 'failure', errorClass: 'overloaded' });
  });

  it('answers requests still waiting for the upstream (a stream before its first token too) with a 503', async () => {
    const fault = await startFaultUpstream('slow');
    up = fault;
    fault.script([], { kind: 'hang' });
    const got: SettledEvent[] = [];
    const e = await engineFor(fault.base, got);
    const call = (stream: boolean) =>
      fetch(`${e.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
    const answers = [call(false), call(true)];
    for (let i = 0; i < 200 && fault.calls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fault.calls).toHaveLength(2);
    await e.close();
    for (const res of await Promise.all(answers)) {
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error).toMatchObject({ code: '503', type: 'service_unavailable_error' });
      expect(body.error.message).toMatch(/shutting down/);
    }
    expect(got.map((ev) => [ev.stream, ev.status, ev.httpStatus])).toEqual(
      expect.arrayContaining([
        [false, 'failure', 503],
        [true, 'failure', 503],
      ]),
    );
  });
});
