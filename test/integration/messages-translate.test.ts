/**
 * The Anthropic <-> OpenAI translation pieces on their own, for cases the fakes never produce:
 * text followed by several streamed tool calls, arguments split across chunks, cached-token usage,
 * stop sequences found in the streamed text, tool results holding images.
 */
import { describe, expect, it } from 'vitest';
import { toOpenAIRequest } from '../../src/engine/anthropic-messages/request.js';
import { toAnthropicMessage } from '../../src/engine/anthropic-messages/response.js';
import { AnthropicStreamTranslator } from '../../src/engine/anthropic-messages/stream.js';

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: finish }],
});

function parse(sse: string): { event: string; data: any }[] {
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      const [e, d] = f.split('\n');
      return { event: e.slice(7), data: JSON.parse(d.slice(6)) };
    });
}

describe('stream translation', () => {
  it('text then two tool calls: blocks 0, 1, 2 each started and stopped in order, args split across chunks', () => {
    const tr = new AnthropicStreamTranslator('m', [], 20);
    let sse = tr.start();
    sse += tr.push([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Checking ' }),
      chunk({ content: 'both.' }),
    ]);
    sse += tr.push([
      chunk({
        tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x":' } }],
      }),
    ]);
    sse += tr.push([
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }),
    ]);
    sse += tr.push([
      chunk({}, 'tool_calls'),
      {
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [],
        usage: {
          prompt_tokens: 50,
          completion_tokens: 9,
          total_tokens: 59,
          prompt_tokens_details: { cached_tokens: 30 },
        },
      },
    ]);
    sse += tr.finish();
    const ev = parse(sse);
    const summary = ev.map((e) => `${e.event}${e.data.index !== undefined ? `:${e.data.index}` : ''}`);
    expect(summary).toEqual([
      'message_start',
      'ping',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    expect(ev[6].data.content_block).toEqual({ type: 'tool_use', id: 'call_a', name: 'f', input: {} });
    expect(ev[7].data.delta.partial_json + ev[8].data.delta.partial_json).toBe('{"x":1}');
    expect(ev[13].data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 20, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 30 },
    });
  });

  it(
    'finds a stop sequence that ended the text across chunk boundaries; ' + 'estimates output without upstream usage',
    () => {
      const tr = new AnthropicStreamTranslator('m', ['</answer>'], 5);
      tr.start();
      tr.push([chunk({ content: 'yes</ans' }), chunk({ content: 'wer>' }), chunk({}, 'stop')]);
      const end = parse(tr.finish());
      expect(end[end.length - 2].data.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: '</answer>' });
      expect(end[end.length - 2].data.usage.output_tokens).toBeGreaterThan(0);
      expect(end[end.length - 2].data.usage.input_tokens).toBeUndefined();
    },
  );
});

describe('response translation', () => {
  it('text and tool calls become a text block then tool_use blocks; broken arguments are kept raw', () => {
    const m = toAnthropicMessage(
      {
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: 'ok',
              tool_calls: [
                { id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
                { id: 't2', type: 'function', function: { name: 'g', arguments: '{oops' } },
              ],
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 4 },
      },
      'm',
      [],
    );
    expect(m.content).toEqual([
      { type: 'text', text: 'ok' },
      { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } },
      { type: 'tool_use', id: 't2', name: 'g', input: { _raw: '{oops' } },
    ]);
    expect(m).toMatchObject({ stop_reason: 'tool_use', usage: { input_tokens: 3, output_tokens: 4 } });
    const refused = toAnthropicMessage(
      { choices: [{ message: { content: '' }, finish_reason: 'content_filter' }] },
      'm',
      [],
    );
    expect(refused).toMatchObject({ content: [], stop_reason: 'refusal' });
  });
});

describe('request translation', () => {
  it(
    'tool results come first as tool messages, images inside them follow in a user message; ' + 'thinking is dropped',
    () => {
      const t = toOpenAIRequest(
        {
          model: 'm',
          max_tokens: 10,
          messages: [
            { role: 'user', content: 'look' },
            {
              role: 'assistant',
              content: [
                { type: 'thinking', thinking: 'hmm', signature: 's' },
                { type: 'tool_use', id: 'u1', name: 'shot', input: {} },
              ],
            },
            {
              role: 'user',
              content: [
                {
                  type: 'tool_result',
                  tool_use_id: 'u1',
                  is_error: false,
                  content: [
                    { type: 'text', text: 'taken' },
                    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'QQ==' } },
                  ],
                },
              ],
            },
          ],
        },
        { requireMaxTokens: true },
      );
      expect(t.body.messages).toEqual([
        { role: 'user', content: 'look' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'u1', type: 'function', function: { name: 'shot', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'u1', content: 'taken' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,QQ==' } }] },
      ]);
    },
  );

  it('documents: base64 PDF as a file part, plain text as text; server tools and bad fields are 400s', () => {
    const t = toOpenAIRequest(
      {
        model: 'm',
        max_tokens: 1,
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'document',
                title: 'a.pdf',
                source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' },
              },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
            ],
          },
        ],
      },
      { requireMaxTokens: true },
    );
    expect((t.body.messages as any[])[0].content).toEqual([
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' } },
      { type: 'text', text: 'plain words' },
    ]);
    const bad = (body: Record<string, unknown>) => {
      try {
        toOpenAIRequest(
          { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], ...body },
          { requireMaxTokens: true },
        );
      } catch (e) {
        return { status: (e as { status: number }).status, message: (e as Error).message };
      }
      return undefined;
    };
    expect(bad({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toMatchObject({
      status: 400,
      message: expect.stringContaining('web_search_20250305'),
    });
    expect(bad({ max_tokens: 0 })).toMatchObject({ status: 400, message: expect.stringContaining('max_tokens') });
    expect(bad({ stop_sequences: 'END' })).toMatchObject({
      status: 400,
      message: expect.stringContaining('stop_sequences'),
    });
    expect(bad({ messages: [{ role: 'system', content: 'x' }] })).toMatchObject({
      status: 400,
      message: expect.stringContaining('messages.0.role'),
    });
    expect(bad({ tool_choice: { type: 'auto' } })).toBeUndefined();
  });
});
