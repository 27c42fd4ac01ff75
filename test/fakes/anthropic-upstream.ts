/**
 * A fake Anthropic Messages API for the contract suite: checks the request (path, x-api-key,
 * anthropic-version, max_tokens, alternating roles) and answers scripted text / tool calls as a
 * Message object or as the documented SSE event sequence, and errors as
 * `{"type":"error","error":{"type":...,"message":...}}` with Anthropic's statuses (529 = overloaded).
 */
import type http from 'node:http';
import type { ContractFake, ErrorCase, RecordedCall, Script, ScriptUsage } from '../contract/harness.js';
import { halves, pieces, sendJson, sendSse, startScriptedFake } from './fake-server.js';

export const ANTHROPIC_FAKE_KEY = 'sk-ant-fake-key-0123456789';

const ERRORS: Record<ErrorCase, [number, string, (m: string) => string]> = {
  auth: [401, 'authentication_error', (m) => `invalid x-api-key (${m})`],
  permission: [
    403,
    'permission_error',
    (m) => `Your API key does not have permission to use the specified resource (${m})`,
  ],
  not_found: [404, 'not_found_error', (m) => `model: claude-nope (${m})`],
  rate_limit: [
    429,
    'rate_limit_error',
    (m) => `Number of request tokens has exceeded your per-minute rate limit (${m})`,
  ],
  context_window: [400, 'invalid_request_error', (m) => `prompt is too long: 210345 tokens > 200000 maximum (${m})`],
  content_policy: [400, 'invalid_request_error', (m) => `Output blocked by content filtering policy (${m})`],
  overloaded: [529, 'overloaded_error', (m) => `Overloaded (${m})`],
};

function invalid(res: http.ServerResponse, message: string): void {
  sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message } });
}

/** The request problems a real Messages API would refuse, or undefined. */
function problem(call: RecordedCall): string | undefined {
  if (call.method !== 'POST' || call.path !== '/v1/messages') return `no route ${call.method} ${call.path}`;
  if (call.headers['x-api-key'] !== ANTHROPIC_FAKE_KEY) return 'x-api-key: missing or wrong';
  // the API takes any of its dated versions (the SDKs send their own; the engine's default is 2023-06-01)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(call.headers['anthropic-version'] ?? '')))
    return 'anthropic-version: header is required';
  const b = call.body;
  if (!b || typeof b.model !== 'string') return 'model: Field required';
  if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages: Field required';
  for (let i = 0; i < b.messages.length; i++) {
    const m = b.messages[i];
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i > 0 && b.messages[i - 1].role === m.role)
      return 'messages: roles must alternate between "user" and "assistant"';
  }
  return undefined;
}

/**
 * Stream faults for adapter-specific tests: an `error` event after the first text delta, an `error`
 * event right after `message_start` (overloaded before any token, as the real API does), or a stream
 * cut before `message_stop`.
 */
export type AnthropicStreamFault = 'error-event' | 'error-at-start' | 'cut' | undefined;

function answer(
  call: RecordedCall,
  s: Script,
  res: http.ServerResponse,
  fault: AnthropicStreamFault,
): Promise<void> | void {
  const why = problem(call);
  if (why) return invalid(res, why);
  if (s.type === 'error') {
    const [status, type, msg] = ERRORS[s.error];
    return sendJson(
      res,
      status,
      { type: 'error', error: { type, message: msg(s.message) } },
      s.retryAfter ? { 'retry-after': s.retryAfter } : {},
    );
  }
  if (s.type === 'hang') return;
  const model = call.body.model as string;
  const usage = { ...cacheUsage(s.usage), output_tokens: s.usage.output };
  const isTool = s.type === 'tool_call';
  // like the real API: the text ends before the first stop sequence it contains, which is named
  let text = isTool ? '' : s.text;
  let matched: string | null = null;
  for (const stop of (call.body.stop_sequences as string[] | undefined) ?? []) {
    const at = text.indexOf(stop);
    if (at >= 0) [text, matched] = [text.slice(0, at), stop];
  }
  const stopReason = isTool ? 'tool_use' : matched !== null ? 'stop_sequence' : 'end_turn';
  if (!call.body.stream) {
    const content = isTool ? [{ type: 'tool_use', id: s.id, name: s.name, input: s.args }] : [{ type: 'text', text }];
    return sendJson(res, 200, {
      id: 'msg_fake01',
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: matched,
      usage,
    });
  }
  const ev: [string, unknown][] = [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          id: 'msg_fake02',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...cacheUsage(s.usage), output_tokens: 1 },
        },
      },
    ],
    ['ping', { type: 'ping' }],
  ];
  if (isTool) {
    ev.push([
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: s.id, name: s.name, input: {} } },
    ]);
    ev.push([
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
    ]);
    for (const p of halves(JSON.stringify(s.args)))
      ev.push([
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: p } },
      ]);
  } else {
    ev.push([
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ]);
    for (const p of pieces(text))
      ev.push([
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } },
      ]);
  }
  ev.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
  ev.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: matched },
      usage: s.usage.deltaNulls
        ? {
            input_tokens: null,
            cache_creation_input_tokens: null,
            cache_read_input_tokens: null,
            output_tokens: s.usage.output,
          }
        : { output_tokens: s.usage.output },
    },
  ]);
  ev.push(['message_stop', { type: 'message_stop' }]);
  if (fault === 'error-event')
    return sendSse(res, [
      ...ev.slice(0, 4),
      ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
    ]);
  if (fault === 'error-at-start')
    return sendSse(res, [
      ...ev.slice(0, 2),
      ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
    ]);
  if (fault === 'cut') return sendSse(res, ev.slice(0, -2));
  return sendSse(res, ev);
}

/**
 * A canned answer for the next request, written exactly as given: a Messages JSON body (text), or an SSE
 * stream (text pieces, each its own write), as a recorded real answer would be replayed.
 */
export type AnthropicReply = { json: string } | { sse: (string | Buffer)[] };

/** The fields Anthropic's count_tokens takes; others are refused as extra inputs, as the real API does. */
const COUNT_FIELDS = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers']);

/** A deterministic stand-in for a tokenizer: a quarter of the characters of what is counted. */
export function fakeTokenCount(body: Record<string, unknown>): number {
  return Math.ceil(JSON.stringify([body.system ?? null, body.messages, body.tools ?? null]).length / 4);
}

function countTokens(call: RecordedCall, res: http.ServerResponse): void {
  if (call.headers['x-api-key'] !== ANTHROPIC_FAKE_KEY) return invalid(res, 'x-api-key: missing or wrong');
  const b = (call.body ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!COUNT_FIELDS.has(k)) return invalid(res, `${k}: Extra inputs are not permitted`);
  if (typeof b.model !== 'string' || !Array.isArray(b.messages)) return invalid(res, 'model, messages: Field required');
  sendJson(res, 200, { input_tokens: fakeTokenCount(b) });
}

async function replay(call: RecordedCall, r: AnthropicReply, res: http.ServerResponse): Promise<void> {
  const why = problem(call);
  if (why) return invalid(res, why);
  if ('json' in r) return sendJson(res, 200, r.json, { 'request-id': 'req_fake_replay' });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const piece of r.sse) {
    if (res.destroyed) return;
    res.write(piece);
    await new Promise((done) => setImmediate(done));
  }
  res.end();
}

/**
 * Start the fake Anthropic API on 127.0.0.1; `streamFault()` breaks the next streams, `reply()` queues canned
 * answers (taken before the script), and POST /v1/messages/count_tokens answers `fakeTokenCount`.
 */
/**
 * The Messages API's input counts: `input_tokens` leaves out the cache reads and writes, which come apart, the
 * writes also split by how long they are kept (`cache_creation`: 5 minutes or 1 hour).
 */
function cacheUsage(u: ScriptUsage): Record<string, unknown> {
  const out: Record<string, unknown> = { input_tokens: u.input };
  if (u.cacheRead !== undefined) out.cache_read_input_tokens = u.cacheRead;
  if (u.cacheWrite !== undefined) {
    const hour = u.cacheWrite1h ?? 0;
    out.cache_creation_input_tokens = u.cacheWrite;
    out.cache_creation = { ephemeral_5m_input_tokens: u.cacheWrite - hour, ephemeral_1h_input_tokens: hour };
  }
  return out;
}

export async function startAnthropicUpstream(): Promise<
  ContractFake & { streamFault(f: AnthropicStreamFault): void; reply(r: AnthropicReply): void }
> {
  let fault: AnthropicStreamFault;
  const replies: AnthropicReply[] = [];
  const fake = await startScriptedFake((call, s, res) => {
    if (call.method === 'POST' && call.path === '/v1/messages/count_tokens') return countTokens(call, res);
    const r = replies.shift();
    if (r) return replay(call, r, res);
    return answer(call, s, res, fault);
  });
  return Object.assign(fake, {
    streamFault: (f: AnthropicStreamFault) => void (fault = f),
    reply: (r: AnthropicReply) => void replies.push(r),
  });
}
