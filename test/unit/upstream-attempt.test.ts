import type { Dispatcher } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { ANONYMOUS } from '../../src/engine/auth/principal.js';
import type { Deployment, ModelGroup } from '../../src/engine/deployment.js';
import { GatewayError } from '../../src/engine/errors.js';
import { ClientLink } from '../../src/engine/http/client-link.js';
import type { Outcome, RouteRequest } from '../../src/engine/router/attempt.js';
import { dispatch, type RouterDeps } from '../../src/engine/router/dispatch.js';
import { buildRouteTable, type RouteTable } from '../../src/engine/router/table.js';
import { MemoryRouterState } from '../../src/engine/state/memory.js';
import type { SettledAttempt } from '../../src/engine/state/router-state.js';
import { runAttempt } from '../../src/engine/upstream/attempt.js';
import { Exchange, type SendOptions, type UpstreamClient } from '../../src/engine/upstream/client.js';
import { Deadlines } from '../../src/engine/upstream/deadlines.js';
import type { AttemptResult } from '../../src/engine/upstream/result.js';
import type { OpenAIChunk } from '../../src/engine/wire.js';

/** One exchange with the fake upstream, driven by the test through undici's handler callbacks. */
class Wire {
  aborted?: Error;
  readonly controller: Dispatcher.DispatchController;

  constructor(readonly ex: Exchange) {
    const abort = (reason: Error) => {
      if (this.aborted) return;
      this.aborted = reason;
      ex.onResponseError(this.controller, reason);
    };
    this.controller = { abort, pause() {}, resume() {}, paused: false, aborted: false, reason: null } as never;
    ex.onRequestStart(this.controller);
  }

  head(status = 200): void {
    this.ex.onResponseStart(this.controller, status, {});
  }

  data(s: string): void {
    this.ex.onResponseData(this.controller, Buffer.from(s));
  }

  end(): void {
    this.ex.onResponseEnd();
  }

  answer(status: number, body: string): void {
    this.head(status);
    this.data(body);
    this.end();
  }

  reset(): void {
    this.ex.onResponseError(this.controller, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  }
}

/** An UpstreamClient whose exchanges the test answers by hand (nothing leaves the process). */
class FakeUpstream {
  readonly deadlines = new Deadlines(5);
  private readonly backlog: Wire[] = [];
  private readonly waiting: ((w: Wire) => void)[] = [];

  send(_req: unknown, opts: SendOptions): Exchange {
    const wire = new Wire(new Exchange(opts));
    const w = this.waiting.shift();
    if (w) w(wire);
    else this.backlog.push(wire);
    return wire.ex;
  }

  /** The next exchange the engine starts. */
  next(): Promise<Wire> {
    const w = this.backlog.shift();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** The memory state, counting its writes. */
class CountingState extends MemoryRouterState {
  begins = 0;
  settles: SettledAttempt[] = [];

  override begin(d: Deployment, counted: boolean, now: number): void {
    this.begins++;
    super.begin(d, counted, now);
  }

  override settle(a: SettledAttempt, rules: RouteTable['settings'], now: number): void {
    this.settles.push(a);
    super.settle(a, rules, now);
  }
}

const ANSWER = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'up-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 4,
    completion_tokens: 2,
    total_tokens: 6,
    completion_tokens_details: { reasoning_tokens: 1 },
  },
});
const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const CHUNK = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up-model' };
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  sse({ ...CHUNK, choices: [{ index: 0, delta, finish_reason: finish }] });
const USAGE = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } };
const TAIL = chunk({}, 'stop') + sse({ ...CHUNK, choices: [], usage: USAGE }) + 'data: [DONE]\n\n';

let table: RouteTable;
beforeAll(async () => {
  const up = (id: string, extra: Record<string, unknown> = {}) => ({
    model_name: 'g',
    litellm_params: { model: 'openai/up-model', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-test', ...extra },
    model_info: { id },
  });
  const config = {
    model_list: [up('a'), up('b'), { model_name: 'm', litellm_params: { model: 'openai/x', mock_response: 'mock' } }],
    router_settings: { allowed_fails: 0, cooldown_time: 30, routing_strategy: 'usage-based-routing-v2' },
  };
  table = await buildRouteTable(loadLiteLLMConfig({ kind: 'object', value: config, label: 'test' }, { env: {} }), {});
});

function rig() {
  const upstream = new FakeUpstream();
  const state = new CountingState();
  const deps: RouterDeps = { table, client: upstream as unknown as UpstreamClient, state };
  const group = table.groups.get('g')!;
  const load = (d: Deployment) => state.read(group, Date.now()).of(d);
  return { upstream, state, deps, group, a: group.deployments[0], load };
}

function request(body: Record<string, unknown> = {}, model = 'g'): RouteRequest & { attempts: AttemptResult[] } {
  const full = { model, messages: [{ role: 'user', content: 'hi' }], ...body };
  const client = new ClientLink();
  const stream = body.stream === true;
  return { kind: 'chat', body: full, model, stream, requestId: 'req-1', client, principal: ANONYMOUS, attempts: [] };
}

type Stream = Extract<Outcome, { type: 'stream' }>;

/** A stream attempt past its first token ("Hel"), the upstream still open. */
async function streaming() {
  const r = rig();
  const req = request({ stream: true });
  const p = runAttempt(r.deps, r.a, r.group, req, undefined);
  const wire = await r.upstream.next();
  wire.head();
  wire.data(chunk({ content: 'Hel' }));
  return { ...r, req, wire, out: await p };
}

async function readAll(out: Outcome): Promise<OpenAIChunk[]> {
  const all: OpenAIChunk[] = [];
  for await (const batch of (out as Stream).chunks) all.push(...batch);
  return all;
}

describe('an attempt settles exactly once', () => {
  it('a whole answer: ok, usage and timings, one state write, in flight back to zero', async () => {
    const { upstream, state, deps, group, a, load } = rig();
    const req = request();
    const p = runAttempt(deps, a, group, req, undefined);
    expect(load(a).inflight).toBe(1);
    (await upstream.next()).answer(200, ANSWER);
    const out = await p;
    expect(out.type).toBe('json');
    expect([state.begins, state.settles.length, req.attempts.length]).toEqual([1, 1, 1]);
    const r = req.attempts[0];
    expect(r.status).toBe('ok');
    expect(r.deployment).toBe(a);
    expect(r.usage).toMatchObject({ prompt: 4, completion: 2, total: 6, reasoning: 1 });
    expect(r.timings.firstByte).toBeGreaterThanOrEqual(r.timings.start);
    expect(r.timings.end).toBeGreaterThanOrEqual(r.timings.firstByte!);
    expect(load(a)).toMatchObject({ inflight: 0, requests: 1, tokens: 6 });
    expect(load(a).latencyMs).toBeGreaterThan(0);
  });

  it('an error answer: error with its class, counted toward the cooldown', async () => {
    const { upstream, state, deps, group, a, load } = rig();
    const req = request();
    const p = runAttempt(deps, a, group, req, undefined);
    (await upstream.next()).answer(429, '{"error":{"message":"slow down"}}');
    await expect(p).rejects.toMatchObject({ status: 429, errorClass: 'rate_limit' });
    expect(state.settles).toHaveLength(1);
    expect(req.attempts[0]).toMatchObject({ status: 'error', errorClass: 'rate_limit' });
    expect(req.attempts[0].error).toBeInstanceOf(GatewayError);
    expect(load(a).cooldownUntil).toBeGreaterThan(Date.now());
    expect(load(a).inflight).toBe(0);
  });

  it('the client leaves while waiting: client_abort, the upstream call cancelled, no cooldown', async () => {
    const { upstream, state, deps, group, a, load } = rig();
    const req = request();
    const p = runAttempt(deps, a, group, req, undefined);
    const wire = await upstream.next();
    req.client.fire();
    await expect(p).rejects.toBeInstanceOf(GatewayError);
    expect(wire.aborted).toBeDefined();
    expect(state.settles).toHaveLength(1);
    expect(req.attempts[0].status).toBe('client_abort');
    expect(load(a).cooldownUntil).toBe(0);
  });

  it('a timeout: 408, the upstream call cancelled, a latency sample, settled once', async () => {
    const { upstream, state, deps, group, a, load } = rig();
    const req = request({ timeout: 0.03 });
    const p = runAttempt(deps, a, group, req, undefined);
    const wire = await upstream.next();
    await expect(p).rejects.toMatchObject({ status: 408, errorClass: 'timeout' });
    expect(wire.aborted).toBeDefined();
    expect(state.settles).toHaveLength(1);
    expect(req.attempts[0]).toMatchObject({ status: 'error', errorClass: 'timeout' });
    expect(load(a).latencyMs).toBeGreaterThanOrEqual(25);
  });
});

describe('a stream settles when it ends', () => {
  it('runs out: settled ok, with the usage chunk, by the time the iterator finishes; once', async () => {
    const { upstream, state, deps, group, a, load } = rig();
    const req = request({ stream: true });
    const p = runAttempt(deps, a, group, req, undefined);
    const wire = await upstream.next();
    wire.head();
    wire.data(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hel' }));
    const out = await p;
    expect(req.attempts).toHaveLength(0); // still streaming
    expect(load(a).inflight).toBe(1);
    wire.data(chunk({ content: 'lo' }) + TAIL);
    wire.end();
    const chunks = await readAll(out);
    const text = chunks.map((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? '');
    expect(text.join('')).toBe('Hello');
    expect(req.attempts).toHaveLength(1);
    expect(req.attempts[0]).toMatchObject({ status: 'ok', stream: true });
    expect(req.attempts[0].usage).toMatchObject({ prompt: 5, completion: 2, total: 7, cached: 3 });
    expect(req.attempts[0].timings.firstToken).toBeGreaterThan(0);
    await ((out as Stream).chunks as AsyncIterable<OpenAIChunk[]>)[Symbol.asyncIterator]().return!();
    expect(state.settles).toHaveLength(1);
    expect(load(a)).toMatchObject({ inflight: 0, tokens: 7 });
  });

  it('the reader stops early (return()): client_abort, the upstream read cancelled', async () => {
    const { state, a, load, req, wire, out } = await streaming();
    for await (const batch of (out as Stream).chunks) if (batch.length) break;
    expect(req.attempts.map((r) => r.status)).toEqual(['client_abort']);
    expect(wire.aborted).toBeDefined();
    expect(state.settles).toHaveLength(1);
    expect(load(a)).toMatchObject({ inflight: 0, cooldownUntil: 0 });
  });

  it('breaks mid-way: the reader gets the error, settled as error and counted', async () => {
    const { state, a, load, req, wire, out } = await streaming();
    wire.reset();
    await expect(readAll(out)).rejects.toMatchObject({ errorClass: 'connection' });
    expect(req.attempts.map((r) => r.status)).toEqual(['error']);
    expect(state.settles).toHaveLength(1);
    expect(load(a).cooldownUntil).toBeGreaterThan(Date.now());
  });

  it('the client leaves mid-stream: client_abort, never counted against the deployment', async () => {
    const { state, a, load, req, wire, out } = await streaming();
    const reading = readAll(out);
    setTimeout(() => req.client.fire(), 5);
    await expect(reading).rejects.toBeInstanceOf(GatewayError);
    expect(wire.aborted).toBeDefined();
    expect(req.attempts.map((r) => r.status)).toEqual(['client_abort']);
    expect(state.settles).toHaveLength(1);
    expect(load(a).cooldownUntil).toBe(0);
  });

  it('no first token within stream_timeout (a role-only chunk is none): 408, settled once', async () => {
    const { upstream, state, deps, group, a } = rig();
    const req = request({ stream: true, stream_timeout: 0.03 });
    const p = runAttempt(deps, a, group, req, undefined);
    const wire = await upstream.next();
    wire.head();
    wire.data(chunk({ role: 'assistant', content: '' }));
    await expect(p).rejects.toThrow(/no first token within the stream timeout \(0\.03s\)/);
    expect(wire.aborted).toBeDefined();
    expect(req.attempts.map((r) => [r.status, r.errorClass])).toEqual([['error', 'timeout']]);
    expect(state.settles).toHaveLength(1);
  });

  it('a mock_response stream settles when read, with the usage the mock reports', async () => {
    const { deps, state } = rig();
    const group: ModelGroup = table.groups.get('m')!;
    const req = request({ stream: true }, 'm');
    const out = await runAttempt(deps, group.deployments[0], group, req, undefined);
    expect(req.attempts).toHaveLength(0);
    const chunks = await readAll(out);
    expect(chunks.length).toBeGreaterThan(2);
    expect(req.attempts).toHaveLength(1);
    expect(req.attempts[0].status).toBe('ok');
    expect(req.attempts[0].usage?.completion).toBeGreaterThan(0);
    expect(state.settles).toHaveLength(1);
  });
});

describe('through the router', () => {
  it('a failure then an answer: two results, the last one answered, as many settles as begins', async () => {
    const { upstream, state, deps } = rig();
    const req = request();
    const p = dispatch(deps, req);
    (await upstream.next()).answer(500, '{"error":{"message":"boom"}}');
    (await upstream.next()).answer(200, ANSWER);
    const out = await p;
    expect(req.attempts.map((r) => r.status)).toEqual(['error', 'ok']);
    expect(req.attempts[1].deployment).toBe(out.deployment);
    expect(req.attempts[0].deployment).not.toBe(out.deployment);
    expect([state.begins, state.settles.length]).toEqual([2, 2]);
  });
});
