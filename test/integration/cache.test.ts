/**
 * The response cache (`litellm_settings.cache: true`): local and Redis stores, hits and misses, the
 * per-request controls, tenant scoping, stream replay, what is never cached, the /cache/* routes, a Redis
 * that goes away, and the official openai SDK as a client. Redis tests use the shared 127.0.0.1:6379 with
 * a namespace of their own (never FLUSHALL), or a redis-server of their own on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFake } from '../fakes/fake-server.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';
import { parseExposition, sum } from './prometheus-text.js';

const MASTER = 'sk-master-cache-tests-0123';
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = (text: string) => [{ role: 'user', content: text }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let up: FakeUpstream;
const engines: TestEngine[] = [];

beforeAll(async () => {
  up = await startOpenAIUpstream();
});
afterAll(async () => {
  await up.close();
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

function models(extra: Record<string, unknown>[] = []) {
  return [
    { model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1`, api_key: 'sk-up' } },
    {
      model_name: 'text',
      litellm_params: {
        model: 'openai/gpt-3.5-turbo-instruct',
        api_base: `${up.url}/v1`,
        api_key: 'x',
      },
    },
    { model_name: 'emb', litellm_params: { model: 'openai/text-embedding-3-small', api_base: `${up.url}/v1` } },
    ...extra,
  ];
}

async function engineWith(
  cacheParams: Record<string, unknown>,
  more: Record<string, unknown> = {},
  opts: { master?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<TestEngine> {
  const e = await startTestEngine(
    {
      model_list: models(),
      litellm_settings: { cache: true, cache_params: cacheParams, ...more },
      general_settings: opts.master ? { master_key: MASTER } : {},
    },
    { env: opts.env, apiKey: opts.master ? MASTER : 'none', governance: opts.master ? { path: ':memory:' } : false },
  );
  engines.push(e);
  return e;
}

/** Upstream calls so far to a path (the fake records every request). */
const upstreamCalls = (path = '/chat/completions') => up.requests.filter((r) => r.path.endsWith(path)).length;

async function chat(e: TestEngine, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return post(`${e.url}/v1/chat/completions`, { model: 'gpt', ...body }, headers);
}

describe('local cache', () => {
  it('answers a repeat from the cache through the openai SDK: same key, cost 0, no upstream call', async () => {
    const e = await engineWith({ type: 'local' });
    const settled = recordSettled(e);
    const ask = { model: 'gpt', messages: msgs(`sdk ${randomBytes(4).toString('hex')}`) };
    const before = upstreamCalls();
    const first = await e.openai.chat.completions.create(ask).withResponse();
    const second = await e.openai.chat.completions.create(ask).withResponse();
    expect(upstreamCalls()).toBe(before + 1);
    expect(second.data.choices[0].message.content).toBe(first.data.choices[0].message.content);
    expect(second.data.id).toBe(first.data.id);
    const key = first.response.headers.get('x-litellm-cache-key');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(second.response.headers.get('x-litellm-cache-key')).toBe(key);
    expect(second.response.headers.get('x-litellm-response-cost')).toBe('0');
    expect(second.response.headers.get('x-litellm-model-group')).toBe('gpt');
    expect(second.response.headers.get('x-litellm-model-id')).toBeNull();
    const miss = await settled.eventOf(first.response.headers.get('x-request-id'));
    const hit = await settled.eventOf(second.response.headers.get('x-request-id'));
    expect(miss).toMatchObject({ cacheHit: false, cacheKey: key, attempts: 1 });
    expect(hit).toMatchObject({ cacheHit: true, cacheKey: key, responseCost: 0, attempts: 0, modelGroup: 'gpt' });
    expect(hit.deploymentId).toBeUndefined();
    expect(hit.usage.total).toBe(miss.usage.total);
  });

  it('keys on what changes the answer, not on metadata, user, stream or key order', async () => {
    const e = await engineWith({ type: 'local' });
    const text = `params ${randomBytes(4).toString('hex')}`;
    const a = await chat(e, { messages: msgs(text), temperature: 0.2, metadata: { run: 1 }, user: 'u1' });
    const b = await chat(e, { temperature: 0.2, messages: msgs(text), metadata: { run: 2 }, user: 'u2' });
    const c = await chat(e, { messages: msgs(text), temperature: 0.3 });
    expect(b.headers.get('x-litellm-cache-key')).toBe(a.headers.get('x-litellm-cache-key'));
    expect(b.headers.get('x-litellm-response-cost')).toBe('0');
    expect(c.headers.get('x-litellm-cache-key')).not.toBe(a.headers.get('x-litellm-cache-key'));
    // the `cache` and `caching` fields steer the cache and never reach the upstream
    await chat(e, { messages: msgs(text), cache: { 'no-cache': true } });
    const last = up.requests[up.requests.length - 1].body!;
    expect(last.cache).toBeUndefined();
    expect(last.caching).toBeUndefined();
  });

  it('honours no-cache, no-store, caching: false, s-maxage, ttl and namespace', async () => {
    const e = await engineWith({ type: 'local' });
    const text = `controls ${randomBytes(4).toString('hex')}`;
    const n0 = upstreamCalls();
    await chat(e, { messages: msgs(text), cache: { 'no-store': true } });
    await chat(e, { messages: msgs(text), caching: false });
    expect(upstreamCalls()).toBe(n0 + 2); // nothing was stored
    await chat(e, { messages: msgs(text) }); // stored
    const nc = await chat(e, { messages: msgs(text), cache: { 'no-cache': true } });
    expect(nc.headers.get('x-litellm-response-cost')).not.toBe('0');
    expect(upstreamCalls()).toBe(n0 + 4);
    const hit = await chat(e, { messages: msgs(text) });
    expect(hit.headers.get('x-litellm-response-cost')).toBe('0');
    await sleep(30);
    const stale = await chat(e, { messages: msgs(text), cache: { 's-maxage': 0.001 } });
    expect(stale.headers.get('x-litellm-response-cost')).not.toBe('0');
    expect(upstreamCalls()).toBe(n0 + 5);
    // another namespace is another entry
    const ns = await chat(e, { messages: msgs(text), cache: { namespace: 'other' } });
    expect(ns.headers.get('x-litellm-cache-key')).not.toBe(hit.headers.get('x-litellm-cache-key'));
    expect(upstreamCalls()).toBe(n0 + 6);
    // a ttl of 1 s: gone after it
    const t2 = `ttl ${text}`;
    await chat(e, { messages: msgs(t2), cache: { ttl: 0.05 } });
    await sleep(80);
    await chat(e, { messages: msgs(t2) });
    expect(upstreamCalls()).toBe(n0 + 8);
    const bad = await chat(e, { messages: msgs(text), cache: { ttl: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('cache.ttl');
  });

  it('mode default_off caches only requests that opt in with use-cache', async () => {
    const e = await engineWith({ type: 'local', mode: 'default_off' });
    const text = `optin ${randomBytes(4).toString('hex')}`;
    const plain = await chat(e, { messages: msgs(text) });
    expect(plain.headers.get('x-litellm-cache-key')).toBeNull();
    await chat(e, { messages: msgs(text), cache: { 'use-cache': true } });
    const hit = await chat(e, { messages: msgs(text), cache: { 'use-cache': true } });
    expect(hit.headers.get('x-litellm-response-cost')).toBe('0');
  });

  it('replays a cached answer as a stream (chunks, usage if asked, [DONE]) and stores a stream for later', async () => {
    const e = await engineWith({ type: 'local' });
    const text = `stream ${randomBytes(4).toString('hex')}`;
    const whole = await chat(e, { messages: msgs(text) });
    const n = upstreamCalls();
    const s = await e.openai.chat.completions.create({
      model: 'gpt',
      messages: msgs(text) as never,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: unknown;
    let finish: string | null = null;
    for await (const c of s) {
      content += c.choices[0]?.delta?.content ?? '';
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    expect(upstreamCalls()).toBe(n);
    expect(content).toBe(whole.json.choices[0].message.content);
    expect(finish).toBe('stop');
    expect(usage).toEqual(whole.json.usage);
    const raw = await fetch(`${e.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt', messages: msgs(text), stream: true }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    expect(raw.headers.get('x-litellm-response-cost')).toBe('0');
    const sse = await raw.text();
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(sse).not.toContain('"usage"'); // not asked for

    // a stream stores its assembled answer: a later whole request is a hit with the same text
    const t2 = `streamed first ${randomBytes(4).toString('hex')}`;
    let streamed = '';
    for await (const c of await e.openai.chat.completions.create({
      model: 'gpt',
      messages: msgs(t2) as never,
      stream: true,
    }))
      streamed += c.choices[0]?.delta?.content ?? '';
    const n2 = upstreamCalls();
    const after = await chat(e, { messages: msgs(t2) });
    expect(upstreamCalls()).toBe(n2);
    expect(after.json.object).toBe('chat.completion');
    expect(after.json.choices[0].message.content).toBe(streamed);
  });

  it('caches completions, embeddings and /v1/messages', async () => {
    const e = await engineWith({ type: 'local' });
    const tag = randomBytes(4).toString('hex');
    const c1 = await post(`${e.url}/v1/completions`, { model: 'text', prompt: `p ${tag}` });
    const c2 = await post(`${e.url}/v1/completions`, { model: 'text', prompt: `p ${tag}` });
    expect(c2.headers.get('x-litellm-response-cost')).toBe('0');
    expect(c2.json.choices[0].text).toBe(c1.json.choices[0].text);
    const e1 = await post(`${e.url}/v1/embeddings`, { model: 'emb', input: [`i ${tag}`] });
    const e2 = await post(`${e.url}/v1/embeddings`, { model: 'emb', input: [`i ${tag}`] });
    expect(e2.headers.get('x-litellm-response-cost')).toBe('0');
    expect(e2.json.data).toEqual(e1.json.data);
    const ask = { model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: `m ${tag}` }] };
    const m1 = await post(`${e.url}/v1/messages`, ask);
    const n = upstreamCalls();
    const m2 = await post(`${e.url}/v1/messages`, ask);
    expect(upstreamCalls()).toBe(n);
    expect(m2.headers.get('x-litellm-response-cost')).toBe('0');
    expect(m2.json.content).toEqual(m1.json.content);
    expect(m2.json.type).toBe('message');
    // a stream asked of /v1/messages replays the cached answer as Anthropic events
    const ms = await fetch(`${e.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, stream: true }),
    });
    expect(ms.headers.get('x-litellm-response-cost')).toBe('0');
    const events = await ms.text();
    expect(upstreamCalls()).toBe(n);
    expect(events).toContain('event: message_start');
    expect(events).toContain('event: message_stop');
    const deltas = [...events.matchAll(/"text_delta","text":"([^"]*)"/g)].map((x) => x[1]).join('');
    expect(deltas).toBe(m1.json.content[0].text);
    // the cache controls work on /v1/messages too
    const m3 = await post(`${e.url}/v1/messages`, { ...ask, cache: { 'no-cache': true } });
    expect(m3.status).toBe(200);
    expect(upstreamCalls()).toBe(n + 1);
    expect(up.requests[up.requests.length - 1].body!.cache).toBeUndefined();
  });

  it('never caches errors or empty answers', async () => {
    let empty = true;
    let fail = true;
    const fake = await startFake((_call, res: http.ServerResponse) => {
      if (fail) return sendJson(res, 500, { error: { message: 'boom', type: 'server_error' } });
      const content = empty ? '' : 'real answer';
      sendJson(res, 200, {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    });
    const e = await startTestEngine(
      {
        model_list: [
          { model_name: 'flaky', litellm_params: { model: 'openai/m', api_base: `${fake.url}/v1`, api_key: 'k' } },
        ],
        litellm_settings: { cache: true, cache_params: { type: 'local' }, num_retries: 0 },
      },
      { governance: false },
    );
    engines.push(e);
    const ask = { model: 'flaky', messages: msgs('same') };
    expect((await post(`${e.url}/v1/chat/completions`, ask)).status).toBe(500);
    fail = false;
    const r1 = await post(`${e.url}/v1/chat/completions`, ask);
    expect(r1.json.choices[0].message.content).toBe('');
    empty = false;
    const r2 = await post(`${e.url}/v1/chat/completions`, ask);
    expect(r2.json.choices[0].message.content).toBe('real answer');
    expect(r2.headers.get('x-litellm-response-cost')).not.toBe('0');
    const r3 = await post(`${e.url}/v1/chat/completions`, ask);
    expect(r3.headers.get('x-litellm-response-cost')).toBe('0');
    expect(fake.calls.length).toBe(3);
    await fake.close();
  });

  it('marks hits and misses in the request log lines', async () => {
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { cache: true, cache_params: { type: 'local' } } },
      { governance: false, debug: true },
    );
    engines.push(e);
    const body = { messages: msgs(`log ${randomBytes(4).toString('hex')}`) };
    const a = await chat(e, body);
    const b = await chat(e, body);
    await sleep(50);
    const line = (id: string | null) => e.logs.find((l) => l.includes(`requestId=${id} `) && l.includes(' request '));
    expect(line(a.headers.get('x-request-id'))).toContain(' cache=miss ');
    expect(line(b.headers.get('x-request-id'))).toContain(' cache=hit ');
    expect(e.logs.some((l) => l.includes('response cache on'))).toBe(true);
  });

  it('keeps at most max_size_in_memory entries, least recently used out first', async () => {
    const e = await engineWith({ type: 'local', max_size_in_memory: 2 });
    const t = randomBytes(4).toString('hex');
    for (const x of ['a', 'b']) await chat(e, { messages: msgs(`${x} ${t}`) });
    await chat(e, { messages: msgs(`a ${t}`) }); // a is the most recent now
    await chat(e, { messages: msgs(`c ${t}`) }); // b goes
    const n = upstreamCalls();
    expect((await chat(e, { messages: msgs(`a ${t}`) })).headers.get('x-litellm-response-cost')).toBe('0');
    await chat(e, { messages: msgs(`b ${t}`) });
    expect(upstreamCalls()).toBe(n + 1);
  });

  it('counts hits and misses in litellm_cache_hits_metric and litellm_cache_misses_metric', async () => {
    const e = await engineWith({ type: 'local' }, { callbacks: ['prometheus'] });
    const text = `metrics ${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++) await chat(e, { messages: msgs(text) });
    await sleep(50);
    const x = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
    expect(sum(x, 'litellm_cache_hits_metric_total', { model: 'gpt' })).toBe(2);
    expect(sum(x, 'litellm_cache_misses_metric_total', { model: 'gpt' })).toBe(1);
  });
});

describe('tenants and management', () => {
  async function governed(scope?: string) {
    const e = await engineWith({ type: 'local', ...(scope ? { scope } : {}) }, {}, { master: true });
    const gen = async (body: Record<string, unknown>) =>
      (await post(`${e.url}/key/generate`, body, auth)).json.key as string;
    const team = async (alias: string) => (await post(`${e.url}/team/new`, { team_alias: alias }, auth)).json.team_id;
    return { e, gen, team };
  }

  it('scopes entries to the team (else the key): another team never gets them; a shared scope does', async () => {
    const { e, gen, team } = await governed();
    const [t1, t2] = [await team('one'), await team('two')];
    const [a, b, c] = [await gen({ team_id: t1 }), await gen({ team_id: t2 }), await gen({ team_id: t1 })];
    const solo = await gen({});
    const body = { messages: msgs(`tenant ${randomBytes(4).toString('hex')}`) };
    const n = upstreamCalls();
    const ra = await chat(e, body, { authorization: `Bearer ${a}` });
    const rb = await chat(e, body, { authorization: `Bearer ${b}` });
    expect(upstreamCalls()).toBe(n + 2);
    expect(rb.headers.get('x-litellm-cache-key')).not.toBe(ra.headers.get('x-litellm-cache-key'));
    const rc = await chat(e, body, { authorization: `Bearer ${c}` }); // same team as a
    expect(rc.headers.get('x-litellm-response-cost')).toBe('0');
    const rs = await chat(e, body, { authorization: `Bearer ${solo}` }); // no team: its own key
    expect(rs.headers.get('x-litellm-response-cost')).not.toBe('0');
    expect(upstreamCalls()).toBe(n + 3);

    const shared = await governed('shared');
    const [x, y] = [await shared.gen({ team_id: await shared.team('x') }), await shared.gen({})];
    const body2 = { messages: msgs(`shared ${randomBytes(4).toString('hex')}`) };
    await chat(shared.e, body2, { authorization: `Bearer ${x}` });
    const ry = await chat(shared.e, body2, { authorization: `Bearer ${y}` });
    expect(ry.headers.get('x-litellm-response-cost')).toBe('0');
  });

  it('charges nothing for a hit: the key spends only the miss, spend logs say cache_hit', async () => {
    const { e, gen } = await governed();
    const k = await gen({ max_budget: 10 });
    const h = { authorization: `Bearer ${k}` };
    const body = { messages: msgs(`spend ${randomBytes(4).toString('hex')}`) };
    const miss = await chat(e, body, h);
    const cost = Number(miss.headers.get('x-litellm-response-cost'));
    expect(cost).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await chat(e, body, h)).headers.get('x-litellm-response-cost')).toBe('0');
    let rows: any[] = [];
    for (let i = 0; i < 500 && rows.length < 4; i++) {
      rows = (await (
        await fetch(`${e.url}/spend/logs?summarize=false&api_key=${k}`, { headers: auth })
      ).json()) as any[];
      if (rows.length < 4) await sleep(20);
    }
    expect(rows.map((r) => r.cache_hit).sort()).toEqual(['False', 'True', 'True', 'True']);
    expect(rows.filter((r) => r.cache_hit === 'True').every((r) => r.spend === 0)).toBe(true);
    const info = await (await fetch(`${e.url}/key/info?key=${k}`, { headers: auth })).json();
    expect(info.info.spend).toBeCloseTo(cost, 10);
  });

  it('refuses cache controls a key is not allowed (allowed_cache_controls), in LiteLLM words', async () => {
    const { e, gen } = await governed();
    const created = await post(`${e.url}/key/generate`, { allowed_cache_controls: ['no-cache'] }, auth);
    expect(created.json.allowed_cache_controls).toEqual(['no-cache']);
    const h = { authorization: `Bearer ${created.json.key}` };
    const ok = await chat(e, { messages: msgs('x'), cache: { 'no-cache': true } }, h);
    expect(ok.status).toBe(200);
    const no = await chat(e, { messages: msgs('x'), cache: { ttl: 5 } }, h);
    expect(no.status).toBe(403);
    expect(no.json.error.message).toBe(
      'Not allowed to set ttl as a cache control. Contact admin to change permissions.',
    );
    // /key/update widens it; an unknown control is a 400 naming it
    const upd = await post(`${e.url}/key/update`, { key: created.json.key, allowed_cache_controls: ['ttl'] }, auth);
    expect(upd.json.allowed_cache_controls).toEqual(['ttl']);
    let allowed = false;
    for (let i = 0; i < 100 && !allowed; i++) {
      allowed = (await chat(e, { messages: msgs('x'), cache: { ttl: 5 } }, h)).status === 200;
      if (!allowed) await sleep(20);
    }
    expect(allowed).toBe(true);
    const bad = await post(`${e.url}/key/generate`, { allowed_cache_controls: ['forever'] }, auth);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('"forever" is not a cache control');
    // keys written by other tools may carry the list in their metadata
    const m = await gen({ metadata: { allowed_cache_controls: ['no-store'] } });
    expect((await chat(e, { messages: msgs('x'), cache: { ttl: 1 } }, { authorization: `Bearer ${m}` })).status).toBe(
      403,
    );
    // a key without the list may send any control
    const free = await gen({});
    expect(
      (await chat(e, { messages: msgs('x'), cache: { ttl: 1 } }, { authorization: `Bearer ${free}` })).status,
    ).toBe(200);
  });

  it('serves /cache/ping, /cache/delete and /cache/flushall; only admins may delete or flush', async () => {
    const { e, gen } = await governed();
    const user = await gen({});
    const ping = await fetch(`${e.url}/cache/ping`, { headers: { authorization: `Bearer ${user}` } });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ status: 'healthy', cache_type: 'local' });
    expect((await fetch(`${e.url}/cache/ping`)).status).toBe(401);
    const body = { messages: msgs(`routes ${randomBytes(4).toString('hex')}`) };
    const first = await chat(e, body, auth);
    const key = first.headers.get('x-litellm-cache-key')!;
    expect((await post(`${e.url}/cache/delete`, { keys: [key] }, { authorization: `Bearer ${user}` })).status).toBe(
      403,
    );
    const del = await post(`${e.url}/cache/delete`, { keys: [key] }, auth);
    expect(del.json).toMatchObject({ status: 'success', deleted: 1 });
    const n = upstreamCalls();
    await chat(e, body, auth);
    expect(upstreamCalls()).toBe(n + 1);
    expect((await post(`${e.url}/cache/delete`, { keys: 'nope' }, auth)).status).toBe(400);
    const flush = await post(`${e.url}/cache/flushall`, {}, auth);
    expect(flush.json).toMatchObject({ status: 'success', deleted: 1 });
    await chat(e, body, auth);
    expect(upstreamCalls()).toBe(n + 2);
  });

  it('answers /cache/ping with 503 when no cache is configured', async () => {
    const e = await startTestEngine({ model_list: models() }, { governance: false });
    engines.push(e);
    const r = await fetch(`${e.url}/cache/ping`);
    expect(r.status).toBe(503);
    expect((await r.json()).error.message).toContain('Cache not initialized');
  });
});

describe('redis cache', () => {
  const ns = () => `kubiya-test-cache-${randomBytes(5).toString('hex')}`;
  let probe: Redis;
  beforeAll(() => {
    probe = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  });
  afterAll(async () => {
    await probe.quit();
  });

  it('stores <namespace>:<key> entries with a TTL, hits across engines, flushes only its namespace', async () => {
    const namespace = ns();
    const cp = { type: 'redis', host: '127.0.0.1', port: 6379, namespace, ttl: 120 };
    const e1 = await engineWith(cp);
    const e2 = await engineWith(cp);
    const body = { messages: msgs(`redis ${randomBytes(4).toString('hex')}`) };
    const n = upstreamCalls();
    const first = await chat(e1, body);
    const key = first.headers.get('x-litellm-cache-key')!;
    let stored: string | null = null;
    for (let i = 0; i < 50 && stored === null; i++) {
      stored = await probe.get(`${namespace}:${key}`);
      if (stored === null) await sleep(10);
    }
    expect(JSON.parse(stored!)).toMatchObject({ model_group: 'gpt' });
    const ttl = await probe.ttl(`${namespace}:${key}`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    const second = await chat(e2, body); // another engine, same Redis
    expect(second.headers.get('x-litellm-response-cost')).toBe('0');
    expect(second.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
    expect(upstreamCalls()).toBe(n + 1);

    const ping = await (await fetch(`${e1.url}/cache/ping`)).json();
    expect(ping).toMatchObject({
      status: 'healthy',
      cache_type: 'redis',
      ping_response: true,
      set_cache_response: 'success',
    });
    const info = await (await fetch(`${e1.url}/cache/redis/info`)).json();
    expect(Number(info.num_clients)).toBeGreaterThan(0);

    const bystander = `${namespace}-bystander:keep`;
    await probe.set(bystander, '1', 'EX', 60);
    const flush = await post(`${e1.url}/cache/flushall`, {});
    expect(flush.json.status).toBe('success');
    expect(await probe.get(`${namespace}:${key}`)).toBeNull();
    expect(await probe.get(bystander)).toBe('1');
    await probe.del(bystander);
    await chat(e2, body);
    expect(upstreamCalls()).toBe(n + 2);
  });

  it('starts and serves every request (misses) when Redis is unreachable from the start', async () => {
    const port = await freePort();
    const e = await engineWith({ type: 'redis', host: '127.0.0.1', port, namespace: ns() });
    const body = { messages: msgs(`never ${randomBytes(4).toString('hex')}`) };
    const n = upstreamCalls();
    for (let i = 0; i < 3; i++) expect((await chat(e, body)).status).toBe(200);
    expect(upstreamCalls()).toBe(n + 3);
    expect(e.logs.some((l) => l.includes('redis unreachable at start'))).toBe(true);
  });

  describe('with a Redis that goes away', () => {
    let server: ChildProcess | undefined;
    afterEach(() => {
      server?.kill('SIGKILL');
      server = undefined;
    });

    it('serves every request as a miss while Redis is down, and hits again once it is back', async () => {
      const port = await freePort();
      const startRedis = async () => {
        server = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          {
            stdio: 'ignore',
          },
        );
        const c = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
        c.on('error', () => {});
        for (let i = 0; i < 100; i++) {
          try {
            await c.connect();
            break;
          } catch {
            await sleep(30);
          }
        }
        c.disconnect();
      };
      await startRedis();
      const e = await engineWith(
        { type: 'redis', host: '127.0.0.1', port, namespace: ns() },
        {},
        { env: { REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '0.2' } },
      );
      const body = { messages: msgs(`down ${randomBytes(4).toString('hex')}`) };
      await chat(e, body);
      await sleep(50);
      expect((await chat(e, body)).headers.get('x-litellm-response-cost')).toBe('0');
      server!.kill('SIGKILL');
      await new Promise((r) => server!.once('exit', r));
      const n = upstreamCalls();
      const t0 = Date.now();
      for (let i = 0; i < 8; i++) {
        const r = await chat(e, body);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-litellm-response-cost')).not.toBe('0');
      }
      expect(upstreamCalls()).toBe(n + 8);
      expect(Date.now() - t0).toBeLessThan(3000);
      const ping = await fetch(`${e.url}/cache/ping`);
      expect(ping.status).toBe(503);
      expect((await ping.json()).error.message).toContain('Service Unhealthy');
      // back: a fresh Redis (empty), so the next request stores and the one after hits
      await startRedis();
      let hit = false;
      for (let i = 0; i < 60 && !hit; i++) {
        await chat(e, body);
        await sleep(50);
        hit = (await chat(e, body)).headers.get('x-litellm-response-cost') === '0';
      }
      expect(hit).toBe(true);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
