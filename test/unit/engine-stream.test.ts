import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/engine/errors.js';
import { OllamaStreamDecoder } from '../../src/engine/providers/ollama/stream.js';
import { OpenAISseDecoder } from '../../src/engine/providers/openai-compatible/stream.js';
import { NdjsonParser } from '../../src/engine/stream/ndjson.js';
import { SseParser } from '../../src/engine/stream/sse.js';

const enc = new TextEncoder();

/** Feed `text` in pieces cut at every `step` bytes (multi-byte characters get split too). */
function pieces(text: string, step: number): Uint8Array[] {
  const bytes = enc.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(bytes.subarray(i, i + step));
  return out;
}

describe('SseParser', () => {
  const text =
    'event: message\ndata: {"a":1}\n\n: keep-alive\n\n' +
    'data: line1\r\ndata: line2\r\n\r\ndata: héllo ✓\n\ndata: [DONE]\n\n';
  for (const step of [1, 2, 3, 7, 1000]) {
    it(`gives the same events whatever the chunking (${step} bytes)`, () => {
      const p = new SseParser();
      const events = pieces(text, step).flatMap((b) => p.push(b));
      events.push(...p.end());
      expect(events).toEqual([
        { event: 'message', data: '{"a":1}' },
        { event: undefined, data: 'line1\nline2' },
        { event: undefined, data: 'héllo ✓' },
        { event: undefined, data: '[DONE]' },
      ]);
    });
  }

  it('flushes a last event without its blank line at end()', () => {
    const p = new SseParser();
    expect(p.push(enc.encode('data: x'))).toEqual([]);
    expect(p.end()).toEqual([{ event: undefined, data: 'x' }]);
  });
});

describe('NdjsonParser', () => {
  it('parses lines split anywhere, skipping blank lines', () => {
    const p = new NdjsonParser();
    const out = pieces('{"a":1}\n\n{"b":"✓"}\n{"c":3}', 3).flatMap((b) => p.push(b));
    out.push(...p.end());
    expect(out).toEqual([{ a: 1 }, { b: '✓' }, { c: 3 }]);
  });

  it('throws on a line that is not JSON', () => {
    const p = new NdjsonParser();
    expect(() => p.push(enc.encode('{oops}\n'))).toThrow();
  });
});

describe('OpenAISseDecoder', () => {
  const chunk = (content: string, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

  it('passes chunks through and stops at [DONE]', () => {
    const d = new OpenAISseDecoder('X');
    const out = pieces(chunk('a') + chunk('b', 'stop') + 'data: [DONE]\n\n', 5).flatMap((b) => d.push(b));
    out.push(...d.end());
    expect(out.map((c) => (c.choices as any[])[0].delta.content)).toEqual(['a', 'b']);
  });

  it('a stream cut before [DONE] or a finish_reason is an error', () => {
    const d = new OpenAISseDecoder('X');
    d.push(enc.encode(chunk('a')));
    expect(() => d.end()).toThrow(GatewayError);
  });

  it('an error event and a non-JSON event become GatewayErrors', () => {
    expect(() => new OpenAISseDecoder('X').push(enc.encode('data: {"error":{"message":"boom"}}\n\n'))).toThrow(/boom/);
    expect(() => new OpenAISseDecoder('X').push(enc.encode('data: {nope\n\n'))).toThrow(/not JSON/);
  });
});

describe('OllamaStreamDecoder', () => {
  it('emits role, content, finish and usage chunks', () => {
    const d = new OllamaStreamDecoder('chat', 'llama3', 'Ollama');
    const lines = [
      {
        model: 'llama3',
        created_at: '2024-01-01T00:00:00Z',
        message: { role: 'assistant', content: 'Hi' },
        done: false,
      },
      {
        model: 'llama3',
        created_at: '2024-01-01T00:00:00Z',
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'length',
        prompt_eval_count: 3,
        eval_count: 2,
      },
    ]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join('');
    const out = pieces(lines, 4).flatMap((b) => d.push(b));
    out.push(...d.end());
    expect(out.map((c) => (c.choices as any[])[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hi' },
      {},
      null,
    ]);
    expect((out[2].choices as any[])[0].finish_reason).toBe('length');
    expect(out[3].usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(out[0].created).toBe(1704067200);
  });

  it('a stream that ends before done is an error', () => {
    const d = new OllamaStreamDecoder('chat', 'm', 'Ollama');
    d.push(enc.encode('{"message":{"content":"x"},"done":false}\n'));
    expect(() => d.end()).toThrow(/before "done"/);
  });
});
