/**
 * One settled event per inference request, as a subscriber sees it: success and failure, stream or
 * not, client aborts, 400/401, retries and fallbacks, /v1/messages too; subscribers never slow or
 * break the response. Runs against a mock_response model and local fake upstreams.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SettledEvent } from '../../src/engine/index.js';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-settled-0123';
const UPSTREAM_KEY = 'sk-upstream-settled-secret';
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = [{ role: 'user', content: 'hello there' }];

let up: FakeUpstream;
let primary: FaultUpstream;
let backup: FaultUpstream;
let engine: TestEngine;
const events: SettledEvent[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The events of one request id, once at least one arrived (and a little longer, to catch a second one). */
async function eventsOf(callId: string, settleMs = 100): Promise<SettledEvent[]> {
  const t0 = Date.now();
  while (!events.some((e) => e.callId === callId) && Date.now() - t0 < 5000) await sleep(10);
  await sleep(settleMs);
  return events.filter((e) => e.callId === callId);
}

/** The one event of a request (fails when there are none or several). */
async function oneEvent(callId: string | null): Promise<SettledEvent> {
  expect(callId).toBeTruthy();
  const list = await eventsOf(callId!);
  expect(list).toHaveLength(1);
  return list[0];
}

beforeAll(async () => {
  up = await startOpenAIUpstream();
  primary = await startFaultUpstream('primary');
  backup = await startFaultUpstream('backup');
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'mocked',
          litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' },
          model_info: { id: 'dep-mock' },
        },
        {
          model_name: 'gpt',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY },
          model_info: { id: 'dep-gpt' },
        },
        {
          model_name: 'embedder',
          litellm_params: { model: 'openai/text-embedding-3-small', api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY },
          model_info: { id: 'dep-emb' },
        },
        {
          model_name: 'pair',
          litellm_params: { model: 'openai/p-model', api_base: primary.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'pair-primary' },
        },
        {
          model_name: 'pair',
          litellm_params: { model: 'openai/b-model', api_base: backup.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'pair-backup' },
        },
        {
          model_name: 'main',
          litellm_params: { model: 'openai/p-model', api_base: primary.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'main-primary' },
        },
        {
          model_name: 'spare',
          litellm_params: { model: 'openai/b-model', api_base: backup.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'spare-backup' },
        },
      ],
      router_settings: { fallbacks: [{ main: ['spare'] }], disable_cooldowns: true },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  engine.onSettled((e) => {
    events.push(e);
  });
});
afterAll(async () => {
  await engine?.close();
  await Promise.all([up?.close(), primary?.close(), backup?.close()]);
});
beforeEach(() => {
  up.setFault(undefined);
  up.setOptions({ chunkIntervalMs: 0, repeat: 1 });
  primary.script([]);
  backup.script([]);
});

describe('one settled event per request', () => {
  it('a mock answer: ids, principal (with the end user), model, usage, metadata and tags', async () => {
    const body = {
      model: 'mocked',
      messages: msgs,
      user: 'end-user-7',
      metadata: { team: 'blue', tags: ['ignored'] },
      tags: ['t1', 't2'],
    };
    const r = await post(`${engine.url}/v1/chat/completions`, body, auth);
    expect(r.status).toBe(200);
    const e = await oneEvent(r.headers.get('x-request-id'));
    expect(e).toMatchObject({
      endpoint: 'chat',
      requestedModel: 'mocked',
      modelGroup: 'mocked',
      deploymentId: 'dep-mock',
      stream: false,
      status: 'success',
      httpStatus: 200,
    });
    expect(e.principal).toEqual({
      kind: 'master',
      keyHash: createHash('sha256').update(MASTER).digest('hex'),
      endUserId: 'end-user-7',
    });
    expect(e.usage.prompt).toBe(r.json.usage.prompt_tokens);
    expect(e.usage.completion).toBe(r.json.usage.completion_tokens);
    expect(e.usageReported).toBe(true);
    expect(e.metadata).toEqual({ team: 'blue', tags: ['ignored'] });
    expect(e.tags).toEqual(['t1', 't2']);
    expect(e.cacheHit).toBe(false);
    expect(e.endTime).toBeGreaterThanOrEqual(e.startTime);
    expect(e.durationMs).toBeCloseTo(e.endTime - e.startTime, 3);
    expect(JSON.stringify(e)).not.toContain(MASTER);
  });

  it(
    'a streamed answer from an upstream: provider, api_base, reported usage, time to first token; ' +
      'tags from metadata',
    async () => {
      const r = await post(
        `${engine.url}/v1/chat/completions`,
        {
          model: 'gpt',
          messages: msgs,
          stream: true,
          stream_options: { include_usage: true },
          metadata: { tags: ['m1'] },
        },
        auth,
      );
      expect(r.status).toBe(200);
      const e = await oneEvent(r.headers.get('x-request-id'));
      expect(e).toMatchObject({
        endpoint: 'chat',
        stream: true,
        status: 'success',
        provider: 'openai',
        apiBase: `${up.url}/v1`,
        litellmModel: 'openai/gpt-4o',
        deploymentId: 'dep-gpt',
      });
      const usage = JSON.parse(
        r.text
          .split('\n\n')
          .filter((l) => l.includes('"usage"'))
          .pop()!
          .slice(6),
      ).usage;
      expect(e.usage).toMatchObject({
        prompt: usage.prompt_tokens,
        completion: usage.completion_tokens,
        total: usage.total_tokens,
      });
      expect(e.usageReported).toBe(true);
      expect(e.tags).toEqual(['m1']);
      expect(e.timeToFirstTokenMs).toBeGreaterThan(0);
      expect(e.timeToFirstTokenMs!).toBeLessThanOrEqual(e.durationMs);
      expect(JSON.stringify(e)).not.toContain(UPSTREAM_KEY);
    },
  );

  it('completions and embeddings settle too, under their own endpoint', async () => {
    const c = await post(`${engine.url}/v1/completions`, { model: 'gpt', prompt: 'say hi' }, auth);
    const m = await post(`${engine.url}/v1/embeddings`, { model: 'embedder', input: ['a', 'b'] }, auth);
    expect([c.status, m.status]).toEqual([200, 200]);
    expect(await oneEvent(c.headers.get('x-request-id'))).toMatchObject({
      endpoint: 'completion',
      status: 'success',
      usage: { prompt: 11, completion: 7 },
    });
    expect(await oneEvent(m.headers.get('x-request-id'))).toMatchObject({
      endpoint: 'embedding',
      status: 'success',
      deploymentId: 'dep-emb',
      usage: { prompt: 5 },
    });
  });

  it('a 401 and a 400 settle as failures; /v1/models and count_tokens do not settle', async () => {
    const before = events.length;
    const denied = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'gpt', messages: msgs },
      { authorization: 'Bearer wrong' },
    );
    const bad = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt', messages: [], stream: true }, auth);
    expect([denied.status, bad.status]).toEqual([401, 400]);
    expect(await oneEvent(denied.headers.get('x-request-id'))).toMatchObject({
      status: 'failure',
      httpStatus: 401,
      errorClass: 'auth',
      principal: { kind: 'anonymous' },
      attempts: 0,
    });
    expect(await oneEvent(bad.headers.get('x-request-id'))).toMatchObject({
      status: 'failure',
      httpStatus: 400,
      errorClass: 'bad_request',
      requestedModel: 'gpt',
      stream: true,
      principal: { kind: 'master' },
    });
    const models = await fetch(`${engine.url}/v1/models`, { headers: auth });
    const count = await post(`${engine.url}/v1/messages/count_tokens`, { model: 'gpt', messages: msgs }, auth);
    expect([models.status, count.status]).toEqual([200, 200]);
    await sleep(150);
    expect(events.length - before).toBe(2);
  });

  it('an upstream failure: failure with the status the client got and the secret masked', async () => {
    up.setFault({ kind: 'status', status: 500, body: { error: { message: `upstream broke, key ${UPSTREAM_KEY}` } } });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt', messages: msgs }, auth);
    expect(r.status).toBe(500);
    const e = await oneEvent(r.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'failure', httpStatus: 500, errorClass: 'upstream', requestedModel: 'gpt' });
    expect(e.errorMessage).toContain('upstream broke');
    expect(JSON.stringify(e)).not.toContain(UPSTREAM_KEY);
  });

  it('a stream that breaks after it started: failure with HTTP 200, still one event', async () => {
    up.setFault({ kind: 'cut-stream', after: 3 });
    up.setOptions({ chunkIntervalMs: 30 }); // the first chunks reach the client before the cut
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'gpt', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true },
      auth,
    );
    expect(r.status).toBe(200);
    const e = await oneEvent(r.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'failure', httpStatus: 200, stream: true, deploymentId: 'dep-gpt' });
    expect(e.errorClass).toBeDefined();
  });

  it('a client that leaves mid-stream: one client_abort event', async () => {
    up.setOptions({ chunkIntervalMs: 20, repeat: 200 });
    const ac = new AbortController();
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt', messages: msgs, stream: true }),
      signal: ac.signal,
      headers: { ...auth, connection: 'close' },
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    const e = await oneEvent(res.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'client_abort', httpStatus: 200, stream: true, deploymentId: 'dep-gpt' });
    expect(e.errorClass).toBeUndefined();
  });

  it('a client that leaves before a whole answer: one client_abort event', async () => {
    up.setFault({ kind: 'delay', ms: 400 });
    const ac = new AbortController();
    const p = fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt', messages: msgs }),
      signal: ac.signal,
      headers: { ...auth, 'x-request-id': 'leaves-early-1' },
    }).catch(() => undefined);
    await sleep(100);
    ac.abort();
    await p;
    expect(await oneEvent('leaves-early-1', 500)).toMatchObject({
      status: 'client_abort',
      httpStatus: 499,
      stream: false,
    });
  });
});

describe('retries and fallbacks', () => {
  it('a retry within the group: the event counts what the headers say', async () => {
    primary.script([], { kind: 'status', status: 500 });
    let sum = 0;
    for (let i = 0; i < 6; i++) {
      const r = await post(`${engine.url}/v1/chat/completions`, { model: 'pair', messages: msgs }, auth);
      expect(r.status).toBe(200);
      const e = await oneEvent(r.headers.get('x-request-id'));
      expect(e).toMatchObject({
        status: 'success',
        deploymentId: 'pair-backup',
        modelGroup: 'pair',
        attemptedFallbacks: 0,
      });
      expect(e.attemptedRetries).toBe(Number(r.headers.get('x-litellm-attempted-retries')));
      expect(e.attempts).toBe(e.attemptedRetries + 1);
      sum += e.attemptedRetries;
    }
    expect(sum).toBe(primary.calls.length); // each failure of the primary cost one retry
  });

  it('a fallback: the group that answered, one fallback, the requested model kept', async () => {
    primary.script([], { kind: 'status', status: 503 });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs, stream: true }, auth);
    expect(r.status).toBe(200);
    expect(await oneEvent(r.headers.get('x-request-id'))).toMatchObject({
      status: 'success',
      requestedModel: 'main',
      modelGroup: 'spare',
      deploymentId: 'spare-backup',
      attemptedFallbacks: 1,
      attemptedRetries: 0,
      stream: true,
    });
  });

  it('every group failing: one failure event', async () => {
    primary.script([], { kind: 'status', status: 503 });
    backup.script([], { kind: 'status', status: 503 });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBe(503);
    expect(await oneEvent(r.headers.get('x-request-id'))).toMatchObject({
      status: 'failure',
      httpStatus: 503,
      errorClass: 'overloaded',
      requestedModel: 'main',
    });
  });

  // these read per-attempt results (`RouteRequest.attempts`, filled by each Attempt when it settles)
  it('a failure after a fallback names the last deployment tried and counts every attempt', async () => {
    primary.script([], { kind: 'status', status: 503 });
    backup.script([], { kind: 'status', status: 503 });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBe(503);
    expect(await oneEvent(r.headers.get('x-request-id'))).toMatchObject({
      status: 'failure',
      modelGroup: 'spare',
      deploymentId: 'spare-backup',
      attemptedFallbacks: 1,
      attemptedRetries: 0,
      attempts: 2,
    });
  });

  it('a failed request reports the time its attempt spent upstream', async () => {
    up.setFault({ kind: 'hang' });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt', messages: msgs, timeout: 0.3 }, auth);
    expect(r.status).toBe(408);
    const e = await oneEvent(r.headers.get('x-request-id'));
    expect(e).toMatchObject({ status: 'failure', errorClass: 'timeout', deploymentId: 'dep-gpt', attempts: 1 });
    expect(e.upstreamMs).toBeGreaterThanOrEqual(250);
    expect(e.upstreamMs).toBeLessThanOrEqual(e.durationMs);
  });
});

describe('/v1/messages', () => {
  it('settles plain and streamed answers, the end user from metadata.user_id', async () => {
    const body = { model: 'gpt', max_tokens: 50, messages: msgs, metadata: { user_id: 'claude-user' } };
    const plain = await post(`${engine.url}/v1/messages`, body, { 'x-api-key': MASTER });
    const streamed = await post(`${engine.url}/v1/messages`, { ...body, stream: true }, { 'x-api-key': MASTER });
    expect([plain.status, streamed.status]).toEqual([200, 200]);
    const a = await oneEvent(plain.headers.get('request-id'));
    const b = await oneEvent(streamed.headers.get('request-id'));
    for (const e of [a, b])
      expect(e).toMatchObject({
        endpoint: 'messages',
        status: 'success',
        requestedModel: 'gpt',
        deploymentId: 'dep-gpt',
        principal: { kind: 'master', endUserId: 'claude-user' },
      });
    expect(a.usage).toMatchObject({
      prompt: plain.json.usage.input_tokens,
      completion: plain.json.usage.output_tokens,
    });
    expect(b.stream).toBe(true);
    expect(b.usageReported).toBe(true);
  });

  it('a 401 in Anthropic shape settles once', async () => {
    const r = await post(
      `${engine.url}/v1/messages`,
      { model: 'gpt', max_tokens: 5, messages: msgs },
      { 'x-api-key': 'nope' },
    );
    expect(r.status).toBe(401);
    expect(r.json.error.type).toBe('authentication_error');
    expect(await oneEvent(r.headers.get('request-id'))).toMatchObject({
      endpoint: 'messages',
      status: 'failure',
      httpStatus: 401,
      errorClass: 'auth',
    });
  });
});

describe('shutdown', () => {
  // runs last: every request above (aborted ones included) settled, so close() has nothing to wait for
  it('close() after all of the above returns at once and loses nothing', async () => {
    const before = events.length;
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mocked', messages: msgs }, auth);
    const t0 = performance.now();
    await engine.close();
    expect(performance.now() - t0).toBeLessThan(800);
    expect(events.length).toBe(before + 1);
    expect(events[events.length - 1].callId).toBe(r.headers.get('x-request-id'));
  });
});
