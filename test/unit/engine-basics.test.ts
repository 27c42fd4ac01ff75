import { describe, expect, it } from 'vitest';
import { MasterKeyAuth } from '../../src/engine/auth/master-key.js';
import { encodeEmbedding } from '../../src/engine/embedding.js';
import type { GatewayError } from '../../src/engine/errors.js';
import { mockChunks, mockResponse } from '../../src/engine/mock.js';
import { createLogger } from '../../src/engine/observability/logger.js';
import { mapHttpError } from '../../src/engine/providers/errors.js';
import { openAIPassthrough } from '../../src/engine/providers/openai-compatible/base.js';
import { splitProvider } from '../../src/engine/providers/resolve.js';
import { substitute } from '../../src/engine/router/resolve.js';
import { estimateChatPromptTokens, estimateTokens } from '../../src/engine/tokens.js';

describe('master key auth', () => {
  const auth = new MasterKeyAuth('sk-master');
  it('accepts Bearer, api-key and x-api-key', () => {
    for (const h of [
      { authorization: 'Bearer sk-master' },
      { authorization: 'bearer  sk-master ' },
      { 'api-key': 'sk-master' },
      { 'x-api-key': 'sk-master' },
    ])
      expect(() => auth.authenticate(h)).not.toThrow();
  });
  it('refuses missing, wrong and prefix keys with 401', () => {
    for (const h of [
      {},
      { authorization: 'Bearer sk-maste' },
      { authorization: 'Bearer sk-master2' },
      { 'x-api-key': '' },
    ]) {
      try {
        auth.authenticate(h);
        expect.unreachable();
      } catch (e) {
        expect((e as GatewayError).status).toBe(401);
      }
    }
  });
  it('is open without a key', () => {
    expect(() => new MasterKeyAuth(undefined).authenticate({})).not.toThrow();
  });
});

describe('provider error mapping', () => {
  const map = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    mapHttpError('P', { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  it('keeps classes, codes and Retry-After', () => {
    expect(map(429, { error: { message: 'slow down' } }, { 'retry-after': '3' })).toMatchObject({
      status: 429,
      errorClass: 'rate_limit',
      retryAfter: '3',
    });
    expect(map(400, { error: { message: 'This model maximum context length is 4097 tokens' } })).toMatchObject({
      status: 400,
      errorClass: 'context_window',
      code: 'context_length_exceeded',
    });
    expect(map(400, { error: { message: 'flagged', code: 'content_policy_violation' } })).toMatchObject({
      errorClass: 'content_policy',
    });
    expect(map(529, 'overloaded')).toMatchObject({ status: 503, errorClass: 'overloaded' });
    expect(map(408, '')).toMatchObject({ status: 408, errorClass: 'timeout' });
    expect(map(504, '')).toMatchObject({ status: 408, errorClass: 'timeout' });
    expect(map(401, { error: 'bad key' }).message).toBe('P error (HTTP 401): bad key');
    expect(map(422, { detail: 'field required' })).toMatchObject({ status: 400, errorClass: 'bad_request' });
    expect(map(402, 'pay up')).toMatchObject({ status: 402, errorClass: 'bad_request' });
    expect(map(507, 'x').status).toBe(502);
  });
  it('serialises to the OpenAI shape', () => {
    expect(map(404, { error: { message: 'nope', type: 't', code: 'model_not_found' } }).toJSON()).toEqual({
      error: { message: 'P error (HTTP 404): nope', type: 'not_found_error', param: null, code: 'model_not_found' },
    });
  });
});

describe('routing helpers', () => {
  it('splits providers like LiteLLM', () => {
    expect(splitProvider('groq/llama3-8b')).toEqual({ provider: 'groq', model: 'llama3-8b' });
    expect(splitProvider('gpt-4o')).toEqual({ provider: 'openai', model: 'gpt-4o' });
    expect(splitProvider('claude-3-haiku')).toEqual({ provider: 'anthropic', model: 'claude-3-haiku' });
    // bare names LiteLLM maps to Bedrock, Vertex AI and Cohere (not to api.openai.com)
    expect(splitProvider('anthropic.claude-3-sonnet-20240229-v1:0')).toEqual({
      provider: 'bedrock',
      model: 'anthropic.claude-3-sonnet-20240229-v1:0',
    });
    expect(splitProvider('us.anthropic.claude-3-5-sonnet-20240620-v1:0').provider).toBe('bedrock');
    expect(splitProvider('amazon.titan-embed-text-v2:0').provider).toBe('bedrock');
    expect(splitProvider('textembedding-gecko-multilingual@001').provider).toBe('vertex_ai');
    expect(splitProvider('gemini-1.5-pro').provider).toBe('vertex_ai');
    expect(splitProvider('command-r-plus').provider).toBe('cohere');
    expect(splitProvider('text-embedding-3-small').provider).toBe('openai');
    expect(splitProvider('gpt-4.1-mini').provider).toBe('openai');
    expect(splitProvider('hosted_vllm/meta-llama/Llama-3')).toEqual({
      provider: 'hosted_vllm',
      model: 'meta-llama/Llama-3',
    });
    expect(splitProvider('my-model', 'openai')).toEqual({ provider: 'openai', model: 'my-model' });
  });
  it('substitutes wildcard captures', () => {
    expect(substitute('*', ['claude-3'])).toBe('claude-3');
    expect(substitute('fixed', ['x'])).toBe('fixed');
    expect(substitute('a-*-b-*', ['1', '2'])).toBe('a-1-b-2');
  });
});

describe('mock_response', () => {
  it('counts usage realistically and streams the same text', () => {
    const body = { messages: [{ role: 'user', content: 'What is the capital of France?' }] };
    const r = mockResponse('chat', body, 'Paris is the capital of France.', 'm');
    expect((r.usage as any).prompt_tokens).toBeGreaterThanOrEqual(10);
    expect((r.usage as any).completion_tokens).toBeGreaterThanOrEqual(6);
    const chunks = mockChunks('chat', body, 'Paris is the capital of France.', 'm');
    expect(chunks.map((c) => (c.choices as any[])[0]?.delta?.content ?? '').join('')).toBe(
      'Paris is the capital of France.',
    );
    expect(chunks.at(-1)!.usage).toEqual(r.usage);
  });
  it('raises mock errors', () => {
    expect(() => mockResponse('chat', {}, 'litellm.ContextWindowExceededError', 'm')).toThrow(
      expect.objectContaining({ errorClass: 'context_window' }),
    );
  });
});

describe('tokens and embeddings', () => {
  it('estimates tokens in a sensible range', () => {
    expect(estimateTokens('Hello, world!')).toBe(4);
    expect(estimateTokens('')).toBe(0);
    expect(estimateChatPromptTokens({ messages: [{ role: 'user', content: 'hi' }] })).toBe(7);
  });
  it('encodes base64 float32 little-endian', () => {
    const b64 = encodeEmbedding([1, -0.5], 'base64') as string;
    const buf = Buffer.from(b64, 'base64');
    expect([buf.readFloatLE(0), buf.readFloatLE(4)]).toEqual([1, -0.5]);
    expect(encodeEmbedding([1], 'float')).toEqual([1]);
  });
});

describe('logger', () => {
  it('masks secrets and writes JSON lines', () => {
    const lines: string[] = [];
    const log = createLogger({ json: true, secrets: ['sk-very-secret'], write: (l) => lines.push(l) });
    log.info({ key: 'sk-very-secret', n: 1 }, 'hello sk-very-secret');
    log.debug({}, 'hidden');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]);
    expect(o).toMatchObject({ level: 'info', msg: 'hello ****', key: '****', n: 1 });
  });
});

describe('OpenAI passthrough check', () => {
  const call = { kind: 'chat' } as any;
  it('passes complete answers with usage, byte for byte', () => {
    expect(openAIPassthrough(call, Buffer.from(' {"choices":[],"usage":{"prompt_tokens":1}}\n'))).toBe(true);
  });
  it('falls back to parsing when usage is missing, null, only inside a string, or the body is not an object', () => {
    expect(openAIPassthrough(call, Buffer.from('{"choices":[]}'))).toBe(false);
    expect(openAIPassthrough(call, Buffer.from('{"choices":[],"usage":null}'))).toBe(false);
    expect(
      openAIPassthrough(call, Buffer.from('{"choices":[{"message":{"content":"say \\"prompt_tokens\\""}}]}')),
    ).toBe(false);
    expect(openAIPassthrough(call, Buffer.from('<html>{"choices" "prompt_tokens"}</html>'))).toBe(false);
    expect(
      openAIPassthrough({ kind: 'embedding' } as any, Buffer.from('{"data":[],"usage":{"prompt_tokens":1}}')),
    ).toBe(true);
  });
});
