/**
 * A fake OpenAI-compatible upstream (JSON and SSE) with fault injection, for engine tests.
 * Chat answers echo the last user message; tools come back as a tool call; every request is recorded.
 * `/v1/responses` answers in the Responses API's own shapes (the same echo, a function_call item for tools unless
 * the input ends with a function_call_output).
 */
import type http from 'node:http';
import { sendJson as json, startFake } from './fake-server.js';

export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** accept the request and never answer */
  | { kind: 'hang' }
  /** destroy the connection without answering */
  | { kind: 'reset' }
  /** 200 with a body that is not JSON */
  | { kind: 'non-json' }
  /** stream `after` chunks, then destroy the connection */
  | { kind: 'cut-stream'; after: number }
  /** stream a chunk that is not JSON */
  | { kind: 'broken-stream' }
  /** stream an error event after one chunk */
  | { kind: 'error-event' }
  /** wait before answering */
  | { kind: 'delay'; ms: number };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface FakeUpstreamOptions {
  /** ms between stream chunks (default 0) */
  chunkIntervalMs?: number;
  /** words in a streamed answer are repeated this many times (default 1) */
  repeat?: number;
  /** extra response headers on every answer (e.g. `x-ratelimit-remaining-requests`) */
  headers?: Record<string, string>;
  /** the chat / completion answers' `usage` (default 11 prompt, 7 completion; streams: 11 and the words) */
  usage?: Record<string, unknown>;
}

export interface FakeUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** fault for the next requests (undefined: behave) */
  setFault(f: Fault | undefined): void;
  setOptions(o: FakeUpstreamOptions): void;
  /** connections currently open to the fake */
  openSockets(): number;
  /** resolves when a request has been aborted by the client (the socket closed before the answer ended) */
  aborted: number;
  close(): Promise<void>;
}

function lastUserText(body: Record<string, unknown>): string {
  const msgs = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const c = msgs[i].content;
    if (msgs[i].role === 'user') return typeof c === 'string' ? c : JSON.stringify(c);
  }
  return '';
}

type Item = { type?: string; role?: string; content?: unknown; output?: unknown };

/** The text of the last user message of a Responses input (a string content, or its input_text parts). */
function lastInputText(items: Item[]): string {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (it.role !== 'user') continue;
    if (typeof it.content === 'string') return it.content;
    if (Array.isArray(it.content)) return (it.content as { text?: string }[]).map((p) => p.text ?? '').join('');
  }
  return '';
}

/** Start the fake on 127.0.0.1 and a free port. */
export async function startOpenAIUpstream(initial: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  let fault: Fault | undefined;
  let options = { ...initial };
  const requests: RecordedRequest[] = [];
  const state = { aborted: 0 };

  const fake = await startFake((call, res, req) => {
    const body = call.body as Record<string, unknown> | undefined;
    requests.push({ method: call.method, path: call.path, headers: call.headers, body });
    for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v);
    res.on('close', () => {
      if (!res.writableFinished) state.aborted++;
    });
    return answer(call.path.replace(/^\/v1/, ''), body ?? {}, req, res);
  });

  async function answer(
    path: string,
    body: Record<string, unknown>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) {
    const f = fault;
    if (f?.kind === 'delay') await new Promise((r) => setTimeout(r, f.ms));
    if (f?.kind === 'hang') return;
    if (f?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (f?.kind === 'status') {
      res.writeHead(f.status, { 'content-type': 'application/json', ...f.headers });
      res.end(
        typeof f.body === 'string'
          ? f.body
          : JSON.stringify(f.body ?? { error: { message: `fake error ${f.status}`, type: 'fake', code: null } }),
      );
      return;
    }
    if (f?.kind === 'non-json') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>oops</html>');
      return;
    }
    if (req.method === 'GET' && path.startsWith('/models'))
      return json(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', owned_by: 'fake' }] });
    if (path.startsWith('/embeddings')) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const data = inputs.map((_, index) => {
        const v = [0.1, 0.2, 0.3, index];
        const f32 = new Float32Array(v);
        return {
          object: 'embedding',
          index,
          embedding: body.encoding_format === 'base64' ? Buffer.from(f32.buffer).toString('base64') : v,
        };
      });
      return json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: 5, total_tokens: 5 } });
    }
    // Azure OpenAI serves the Responses API at /openai/v1/responses (its v1 surface)
    if (path === '/responses' || path === '/openai/v1/responses') return responses(body, req, res, f);
    const chat = path.startsWith('/chat/completions');
    if (!chat && !path.startsWith('/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${path}` } }));
      return;
    }
    const text = chat ? `echo: ${lastUserText(body)}` : `completion: ${String(body.prompt)}`;
    const tools =
      Array.isArray(body.tools) && body.tools.length > 0 ? (body.tools as { function: { name: string } }[]) : undefined;
    const n = typeof body.n === 'number' ? body.n : 1;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      const choices = Array.from({ length: n }, (_, index) =>
        chat
          ? tools
            ? {
                index,
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    {
                      id: 'call_1',
                      type: 'function',
                      function: { name: tools[0].function.name, arguments: '{"city":"Paris"}' },
                    },
                  ],
                },
                finish_reason: 'tool_calls',
              }
            : { index, message: { role: 'assistant', content: text }, finish_reason: 'stop' }
          : { index, text, finish_reason: 'stop', logprobs: null },
      );
      return json(res, 200, {
        id: 'chatcmpl-fake',
        object: chat ? 'chat.completion' : 'text_completion',
        created,
        model: body.model,
        choices,
        usage: options.usage ?? { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choice: Record<string, unknown>) => ({
      id: 'chatcmpl-fake',
      object,
      created,
      model: body.model,
      choices: [choice],
    });
    const words = Array.from({ length: options.repeat ?? 1 }, () => text.split(' ')).flat();
    const events: unknown[] = [];
    if (chat) events.push(chunk({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
    if (tools && chat) {
      events.push(
        chunk({
          index: 0,
          delta: {
            tool_calls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: tools[0].function.name, arguments: '' } },
            ],
          },
          finish_reason: null,
        }),
      );
      events.push(
        chunk({
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] },
          finish_reason: null,
        }),
      );
    } else {
      words.forEach((w, i) =>
        events.push(
          chunk(
            chat
              ? { index: 0, delta: { content: (i ? ' ' : '') + w }, finish_reason: null }
              : { index: 0, text: (i ? ' ' : '') + w, finish_reason: null },
          ),
        ),
      );
    }
    events.push(
      chunk(
        chat
          ? { index: 0, delta: {}, finish_reason: tools ? 'tool_calls' : 'stop' }
          : { index: 0, text: '', finish_reason: 'stop' },
      ),
    );
    const so = body.stream_options as { include_usage?: boolean } | undefined;
    if (so?.include_usage)
      events.push({
        id: 'chatcmpl-fake',
        object,
        created,
        model: body.model,
        choices: [],
        usage: options.usage ?? { prompt_tokens: 11, completion_tokens: words.length, total_tokens: 11 + words.length },
      });
    let sent = 0;
    for (const ev of events) {
      if (res.destroyed) return;
      if (f?.kind === 'cut-stream' && sent === f.after) {
        req.socket.destroy();
        return;
      }
      if (f?.kind === 'broken-stream' && sent === 1) {
        res.end('data: {not json\n\n');
        return;
      }
      if (f?.kind === 'error-event' && sent === 1) {
        res.end(`data: ${JSON.stringify({ error: { message: 'upstream exploded', code: 'server_error' } })}\n\n`);
        return;
      }
      res.write(`data: ${JSON.stringify(ev)}\n\n`);
      sent++;
      if (options.chunkIntervalMs) await new Promise((r) => setTimeout(r, options.chunkIntervalMs));
    }
    res.end('data: [DONE]\n\n');
  }

  let responseCount = 0;

  /** The Responses API: one response object, or its event stream (created ... completed, sequence numbers). */
  async function responses(
    body: Record<string, unknown>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    f: Fault | undefined,
  ) {
    const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input as Item[]);
    const last = items[items.length - 1];
    const tools = Array.isArray(body.tools) ? (body.tools as { type: string; name?: string }[]) : [];
    const fnTool = tools.find((t) => t.type === 'function');
    const id = `resp_fake_${++responseCount}`;
    const created_at = Math.floor(Date.now() / 1000);
    const text =
      last?.type === 'function_call_output' ? `tool said: ${String(last.output)}` : `echo: ${lastInputText(items)}`;
    const call = fnTool && last?.type !== 'function_call_output';
    const item = call
      ? {
          id: `fc_fake_${responseCount}`,
          type: 'function_call',
          status: 'completed',
          call_id: `call_fake_${responseCount}`,
          name: fnTool.name,
          arguments: '{"city":"Paris"}',
        }
      : {
          id: `msg_fake_${responseCount}`,
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [] }],
        };
    const usage = {
      input_tokens: 13,
      input_tokens_details: { cached_tokens: 2 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 18,
    };
    const base = {
      id,
      object: 'response',
      created_at,
      status: 'in_progress',
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      model: `${String(body.model)}-2025-01-01`,
      output: [] as unknown[],
      parallel_tool_calls: true,
      previous_response_id: body.previous_response_id ?? null,
      store: body.store !== false,
      temperature: body.temperature ?? 1,
      tool_choice: 'auto',
      tools,
      top_p: 1,
      usage: null as unknown,
      metadata: {},
    };
    const done = { ...base, status: 'completed', output: [item], usage };
    if (body.stream !== true) return json(res, 200, done);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let seq = 0;
    const events: Record<string, unknown>[] = [];
    const ev = (type: string, fields: Record<string, unknown>) =>
      events.push({ type, ...fields, sequence_number: seq++ });
    ev('response.created', { response: base });
    ev('response.in_progress', { response: base });
    if (call) {
      ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
      ev('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: '{"city":' });
      ev('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: '"Paris"}' });
      ev('response.function_call_arguments.done', {
        item_id: item.id,
        output_index: 0,
        arguments: '{"city":"Paris"}',
      });
    } else {
      ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
      const part = { type: 'output_text', text: '', annotations: [] };
      ev('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part });
      text.split(' ').forEach((w, i) => {
        const delta = (i ? ' ' : '') + w;
        ev('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta, logprobs: [] });
      });
      ev('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] });
      ev('response.content_part.done', {
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        part: { ...part, text },
      });
    }
    ev('response.output_item.done', { output_index: 0, item });
    ev('response.completed', { response: done });
    let sent = 0;
    for (const e of events) {
      if (res.destroyed) return;
      if (f?.kind === 'cut-stream' && sent === f.after) {
        req.socket.destroy();
        return;
      }
      if (f?.kind === 'error-event' && sent === 5) {
        const err = {
          type: 'error',
          code: 'server_error',
          message: 'upstream exploded',
          param: null,
          sequence_number: sent,
        };
        res.end(`event: error\ndata: ${JSON.stringify(err)}\n\n`);
        return;
      }
      res.write(`event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
      sent++;
      if (options.chunkIntervalMs) await new Promise((r) => setTimeout(r, options.chunkIntervalMs));
    }
    res.end();
  }

  return {
    ...fake,
    requests,
    setFault: (f) => {
      fault = f;
    },
    setOptions: (o) => {
      options = { ...options, ...o };
    },
    get aborted() {
      return state.aborted;
    },
  };
}
