/** The Responses API's parts without a server: the memory store's bounds, the chat translation both ways. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/engine/errors.js';
import { readResponsesRequest, toChatBody } from '../../src/engine/responses/request.js';
import { chatToResponse } from '../../src/engine/responses/response.js';
import { MemoryResponseStore, type StoredResponse } from '../../src/engine/responses/store.js';
import { ChatToResponsesFraming } from '../../src/engine/responses/stream.js';
import type { JsonObject } from '../../src/engine/wire.js';

const turn = (id: string, text: string, previous?: string, bytes = 10): StoredResponse => ({
  response: {
    id,
    object: 'response',
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }],
  },
  input: [{ type: 'message', role: 'user', content: `q-${id}` }],
  previous,
  bytes,
});

describe('the in-memory response store', () => {
  it('evicts the oldest past its entry bound, and past its byte bound', () => {
    const s = new MemoryResponseStore({ entries: 2, bytes: 100 });
    s.put('a', turn('a', 'A'));
    s.put('b', turn('b', 'B'));
    s.put('c', turn('c', 'C'));
    expect([s.get('a'), s.get('b')?.response.id, s.get('c')?.response.id]).toEqual([undefined, 'b', 'c']);
    s.put('big', turn('big', 'X', undefined, 95));
    expect(s.get('b')).toBeUndefined();
    expect(s.get('c')).toBeUndefined();
    expect(s.get('big')).toBeDefined();
    expect(s.delete('big')).toBe(true);
    expect(s.delete('big')).toBe(false);
    expect(s.size).toBe(0);
  });

  it('rebuilds a conversation oldest first; a lost earlier turn is a 404 that says so', async () => {
    const s = new MemoryResponseStore();
    s.put('r1', turn('r1', 'one'));
    s.put('r2', turn('r2', 'two', 'r1'));
    const r = await readResponsesRequest({ model: 'm', input: 'three', previous_response_id: 'r2' }, s, undefined);
    expect(r.history.map((i) => i.content)).toEqual([
      'q-r1',
      [{ type: 'output_text', text: 'one' }],
      'q-r2',
      [{ type: 'output_text', text: 'two' }],
    ]);
    expect(r.input).toEqual([{ type: 'message', role: 'user', content: 'three' }]);
    s.delete('r1');
    const err = await readResponsesRequest({ model: 'm', input: 'x', previous_response_id: 'r2' }, s, undefined).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(404);
    expect((err as GatewayError).message).toContain("continues response 'r1', which is no longer stored");
    // someone else's response is as good as absent
    await expect(
      readResponsesRequest({ model: 'm', input: 'x', previous_response_id: 'r2' }, s, 'other'),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  it('refuses input that is neither a string nor a list of items, and background mode', async () => {
    const s = new MemoryResponseStore();
    await expect(
      readResponsesRequest({ model: 'm', input: 'x', background: true }, s, undefined),
    ).rejects.toMatchObject({
      status: 400,
      param: 'background',
    });
    await expect(readResponsesRequest({ model: 'm', input: 5 }, s, undefined)).rejects.toMatchObject({ status: 400 });
    await expect(readResponsesRequest({ model: 'm', input: ['text'] }, s, undefined)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('input[0]'),
    });
  });
});

describe('Responses -> chat', () => {
  it('messages, function calls and their outputs, images and developer messages in chat terms', async () => {
    const body = {
      model: 'm',
      instructions: 'Be kind.',
      input: [
        { role: 'developer', content: 'Use tools.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look: ' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
          ],
        },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"a":1}' },
        { type: 'function_call', call_id: 'c2', name: 'g', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'two' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
      ],
      tool_choice: { type: 'function', name: 'f' },
      user: 'u1',
    };
    const r = await readResponsesRequest(body, new MemoryResponseStore(), undefined);
    const { body: chat, error } = toChatBody(body, r);
    expect(error).toBeUndefined();
    expect(chat).toEqual({
      model: 'm',
      user: 'u1',
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'system', content: 'Use tools.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look: ' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'one' },
        { role: 'tool', tool_call_id: 'c2', content: 'two' },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
    });
  });

  it('what chat cannot carry is an error for translated attempts, not a silent drop', async () => {
    const body = { model: 'm', input: [{ type: 'item_reference', id: 'x' }] };
    const r = await readResponsesRequest(body, new MemoryResponseStore(), undefined);
    expect(toChatBody(body, r).error?.message).toContain('item_reference');
  });
});

describe('chat -> Responses', () => {
  it('a whole answer: reasoning, text and tool calls as output items; length is incomplete', () => {
    const chat = {
      created: 1700000000,
      choices: [
        {
          message: {
            role: 'assistant',
            content: 'Hi',
            reasoning_content: 'thinking',
            tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          finish_reason: 'length',
        },
      ],
      usage: {
        prompt_tokens: 4,
        completion_tokens: 6,
        total_tokens: 10,
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    };
    const r = chatToResponse(chat, { model: 'm', input: 'x', max_output_tokens: 6 }, 'resp_1', 'm');
    expect(r).toMatchObject({
      id: 'resp_1',
      created_at: 1700000000,
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      max_output_tokens: 6,
      usage: { input_tokens: 4, output_tokens: 6, total_tokens: 10, output_tokens_details: { reasoning_tokens: 3 } },
    });
    expect((r.output as JsonObject[]).map((o) => o.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect((r.output as JsonObject[])[2]).toMatchObject({ call_id: 'call_9', name: 'f', arguments: '{}' });
  });

  it('a stream: each item opened, filled and closed in output order; usage estimated when none came', () => {
    let stored: JsonObject | undefined;
    const f = new ChatToResponsesFraming({ model: 'm', input: 'x' }, 'resp_s', 'm', 12, (r) => {
      stored = r;
    });
    const chunk = (delta: JsonObject, finish: string | null = null) => ({
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    let sse = f.start();
    sse += f.push([chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'hmm' })]);
    sse += f.push([chunk({ content: 'Hello' }), chunk({ content: ' there' })]);
    sse += f.push([
      chunk({ tool_calls: [{ index: 0, id: 'c0', type: 'function', function: { name: 'a', arguments: '{"x"' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'c1', type: 'function', function: { name: 'b', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    sse += f.finish();
    const events = sse
      .trim()
      .split('\n\n')
      .map((frame) => JSON.parse(frame.split('\ndata: ')[1]) as JsonObject);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const brief = events.map((e) => `${String(e.type).replace('response.', '')}${e.output_index ?? ''}`);
    expect(brief).toEqual([
      'created',
      'in_progress',
      'output_item.added0',
      'content_part.added0',
      'reasoning_text.delta0',
      'reasoning_text.done0',
      'content_part.done0',
      'output_item.done0',
      'output_item.added1',
      'content_part.added1',
      'output_text.delta1',
      'output_text.delta1',
      'output_text.done1',
      'content_part.done1',
      'output_item.done1',
      'output_item.added2',
      'function_call_arguments.delta2',
      'output_item.added3',
      'function_call_arguments.delta3',
      'function_call_arguments.delta2',
      'function_call_arguments.done2',
      'output_item.done2',
      'function_call_arguments.done3',
      'output_item.done3',
      'completed',
    ]);
    const final = events.at(-1)!.response as JsonObject;
    expect(stored).toEqual(final);
    expect(final.output).toMatchObject([
      { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'hmm' }] },
      { type: 'message', content: [{ type: 'output_text', text: 'Hello there' }] },
      { type: 'function_call', call_id: 'c0', name: 'a', arguments: '{"x":1}' },
      { type: 'function_call', call_id: 'c1', name: 'b', arguments: '{}' },
    ]);
    const usage = final.usage as JsonObject;
    expect(usage.input_tokens).toBe(12);
    expect(usage.output_tokens).toBeGreaterThan(0);
  });
});
