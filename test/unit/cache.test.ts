/** The response cache's parts: the key, the local LRU, stream assembly and replay, the settings. */
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { hasContent, replayChunks, StreamAssembler } from '../../src/engine/cache/answer.js';
import { cacheSettings } from '../../src/engine/cache/config.js';
import { cacheKey, canonicalJson } from '../../src/engine/cache/key.js';
import { LocalCache } from '../../src/engine/cache/stores.js';

const parts = { kind: 'chat', model: 'gpt', scope: 'team:t1', namespace: '' };

describe('cache key', () => {
  it('is canonical: key order never matters, array order does', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    const a = cacheKey(parts, { messages: [{ role: 'user', content: 'x' }], temperature: 0 });
    const b = cacheKey(parts, { temperature: 0, messages: [{ content: 'x', role: 'user' }] });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey(parts, { messages: [1, 2] })).not.toBe(cacheKey(parts, { messages: [2, 1] }));
  });

  it('leaves out tracking and delivery fields, keeps what changes the answer', () => {
    const base = { messages: [{ role: 'user', content: 'x' }] };
    const k = cacheKey(parts, base);
    const same = { ...base, model: 'alias', stream: true, metadata: { a: 1 }, user: 'u', tags: ['t'], cache: {} };
    expect(cacheKey(parts, same)).toBe(k);
    for (const changed of [{ temperature: 1 }, { tools: [] }, { seed: 1 }, { mock_response: 'y' }, { foo: 1 }])
      expect(cacheKey(parts, { ...base, ...changed })).not.toBe(k);
    expect(cacheKey({ ...parts, scope: 'team:t2' }, base)).not.toBe(k);
    expect(cacheKey({ ...parts, namespace: 'n' }, base)).not.toBe(k);
    expect(cacheKey({ ...parts, model: 'other' }, base)).not.toBe(k);
    expect(cacheKey({ ...parts, kind: 'completion' }, base)).not.toBe(k);
  });
});

describe('LocalCache', () => {
  it('expires entries at their TTL and drops the least recently used past its size', () => {
    let now = 1000;
    const c = new LocalCache(2, 100, () => now);
    const e = (body: string) => ({ t: now, group: 'g', body });
    c.set('a', e('A'), 10);
    c.set('b', e('B'), 10);
    expect(c.get('a')?.body).toBe('A'); // a is now the most recent
    c.set('c', e('C'), 10);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')?.body).toBe('A');
    c.set('big', e('x'.repeat(101)), 10);
    expect(c.get('big')).toBeUndefined();
    now += 10_000;
    expect(c.get('a')).toBeUndefined();
    expect(c.size()).toBe(1);
  });
});

describe('stream assembly and replay', () => {
  it('assembles chunks (text, reasoning, tool calls, finish, usage) and replays them as chunks', () => {
    const head = { id: 'c1', object: 'chat.completion.chunk', created: 5, model: 'm' };
    const asm = new StreamAssembler('chat');
    asm.add([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' } }] },
      { ...head, choices: [{ index: 0, delta: { content: 'lo', reasoning_content: 'hm' } }] },
      {
        ...head,
        choices: [
          { index: 0, delta: { tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'f' } }] } },
        ],
      },
      { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] } }] },
      { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] } }] },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { ...head, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ]);
    const r = asm.answer();
    expect(r).toMatchObject({
      id: 'c1',
      object: 'chat.completion',
      usage: { total_tokens: 3 },
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Hello',
            reasoning_content: 'hm',
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
        },
      ],
    });
    expect(hasContent('chat', r)).toBe(true);
    const [batch] = replayChunks('chat', r);
    expect(batch.map((c) => c.object)).toEqual([
      'chat.completion.chunk',
      'chat.completion.chunk',
      'chat.completion.chunk',
    ]);
    const again = new StreamAssembler('chat');
    again.add(batch);
    expect(again.answer()).toEqual(r);
  });

  it('knows an empty answer', () => {
    const msg = (content: unknown) => ({ choices: [{ index: 0, message: { role: 'assistant', content } }] });
    expect(hasContent('chat', msg(''))).toBe(false);
    expect(hasContent('chat', msg(null))).toBe(false);
    expect(hasContent('chat', { choices: [] })).toBe(false);
    expect(hasContent('completion', { choices: [{ text: '' }] })).toBe(false);
    expect(hasContent('completion', { choices: [{ text: 'x' }] })).toBe(true);
    expect(hasContent('embedding', { data: [] })).toBe(false);
  });
});

describe('cache settings', () => {
  const load = (ls: Record<string, unknown>) =>
    loadLiteLLMConfig(
      { kind: 'object', value: { model_list: [], litellm_settings: ls }, label: 'cfg.yaml' },
      { env: {} },
    );

  it('reads LiteLLM names with their defaults', () => {
    const none = load({});
    expect(cacheSettings(none.config, () => {})).toBeUndefined();
    const s = cacheSettings(load({ cache: true }).config, () => {})!;
    expect(s).toMatchObject({
      type: 'redis',
      mode: 'default_on',
      ttlS: 3600,
      namespace: 'kubiya:cache',
      scope: 'team',
    });
    expect([...s.endpoints].sort()).toEqual(['chat', 'completion', 'embedding', 'messages']);
    const l = cacheSettings(
      load({
        cache: true,
        cache_params: {
          type: 'local',
          default_in_memory_ttl: 30,
          supported_call_types: ['aembedding'],
          mode: 'default_off',
        },
      }).config,
      () => {},
    )!;
    expect(l).toMatchObject({ type: 'local', ttlS: 30, mode: 'default_off', maxEntries: 200 });
    expect([...l.endpoints]).toEqual(['embedding']);
  });

  it('turns the cache off for types it does not implement, and names bad values and unknown keys', () => {
    const warned: string[] = [];
    expect(
      cacheSettings(load({ cache: true, cache_params: { type: 's3' } }).config, (m) => warned.push(m)),
    ).toBeUndefined();
    expect(warned[0]).toContain('"s3" is not supported yet');
    expect(() => load({ cache: true, cache_params: { mode: 'always' } })).toThrow(/cache_params\.mode/);
    const w = load({ cache: true, cache_params: { type: 'local', ttll: 5, similarity_threshold: 0.8 } }).warnings;
    expect(w).toContainEqual(expect.objectContaining({ path: 'litellm_settings.cache_params.ttll' }));
    expect(w).toContainEqual(
      expect.objectContaining({
        path: 'litellm_settings.cache_params.similarity_threshold',
        message: expect.stringMatching(/not supported/),
      }),
    );
  });
});
