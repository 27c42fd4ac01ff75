/**
 * A fake Cohere v2 API for the contract suite: `POST /v2/chat` (JSON, or SSE framed as
 * `event: <type>\ndata: {...}\n\n` with message-start, content-start/delta/end, tool-plan-delta,
 * tool-call-start/delta/end, message-end) and `POST /v2/embed`; Bearer key checked; errors as `{"message": ...}`.
 */
import type http from 'node:http';
import type { ContractFake, ErrorCase, RecordedCall, Script } from '../contract/harness.js';
import { halves, pieces, sendJson, sendSse, startScriptedFake } from './fake-server.js';

export const COHERE_FAKE_KEY = 'co-fake-key-0123456789';

const ERRORS: Record<Exclude<ErrorCase, 'content_policy'>, [number, (m: string) => string]> = {
  auth: [401, (m) => `invalid api token (${m})`],
  permission: [403, (m) => `You are not authorized to access this resource (${m})`],
  not_found: [404, (m) => `model 'command-nope' not found, make sure the correct model ID was used (${m})`],
  rate_limit: [429, (m) => `You are using a Trial key, which is limited to 20 API calls / minute (${m})`],
  context_window: [
    400,
    (m) => `too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 131002 (${m})`,
  ],
  overloaded: [503, (m) => `service unavailable (${m})`],
};

function embed(call: RecordedCall, res: http.ServerResponse): void {
  const b = call.body;
  if (
    !Array.isArray(b?.texts) ||
    typeof b.input_type !== 'string' ||
    JSON.stringify(b.embedding_types) !== '["float"]'
  ) {
    return sendJson(res, 400, { message: 'invalid request: texts, input_type and embedding_types are required' });
  }
  const float = (b.texts as string[]).map((t, i) => [t.length / 10, 0.5, i]);
  sendJson(res, 200, {
    id: 'emb-1',
    embeddings: { float },
    texts: b.texts,
    meta: { api_version: { version: '2' }, billed_units: { input_tokens: 6 } },
  });
}

/**
 * `POST /v2/rerank`: `model`, `query`, `documents` (strings only in v2), `top_n`; results best first, scored by
 * shared words, without the documents (v2 no longer returns them); `meta.billed_units.search_units`.
 */
function rerank(call: RecordedCall, s: Script, res: http.ServerResponse): void {
  const b = call.body;
  if (s.type === 'error') {
    const e = ERRORS[s.error as Exclude<ErrorCase, 'content_policy'>];
    return sendJson(res, e?.[0] ?? 500, { id: 'err-1', message: e ? e[1](s.message) : 'internal' });
  }
  if (
    typeof b?.query !== 'string' ||
    !Array.isArray(b.documents) ||
    !b.documents.every((d: unknown) => typeof d === 'string')
  )
    return sendJson(res, 400, { message: 'invalid request: query and documents (strings) are required' });
  const words = new Set((b.query as string).toLowerCase().split(/\W+/));
  const results = (b.documents as string[]).map((d, index) => {
    const hits = d
      .toLowerCase()
      .split(/\W+/)
      .filter((w) => words.has(w)).length;
    return { index, relevance_score: hits / (hits + 1) };
  });
  results.sort((x, y) => y.relevance_score - x.relevance_score);
  sendJson(res, 200, {
    id: 'rr-cohere-1',
    results: typeof b.top_n === 'number' ? results.slice(0, b.top_n) : results,
    meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
  });
}

function answer(call: RecordedCall, s: Script, res: http.ServerResponse): Promise<void> | void {
  if (call.headers.authorization !== `Bearer ${COHERE_FAKE_KEY}`)
    return sendJson(res, 401, { message: 'no api key supplied' });
  if (call.method === 'POST' && call.path === '/v2/embed') return embed(call, res);
  if (call.method === 'POST' && call.path === '/v2/rerank') return rerank(call, s, res);
  if (call.method !== 'POST' || call.path !== '/v2/chat')
    return sendJson(res, 404, { message: `no route ${call.path}` });
  if (!call.body || typeof call.body.model !== 'string' || !Array.isArray(call.body.messages))
    return sendJson(res, 400, { message: 'invalid request: model and messages are required' });
  if (s.type === 'error') {
    const e = ERRORS[s.error as Exclude<ErrorCase, 'content_policy'>];
    if (!e) return sendJson(res, 500, { message: `the fake has no ${s.error}` });
    return sendJson(
      res,
      e[0],
      { id: 'err-1', message: e[1](s.message) },
      s.retryAfter ? { 'retry-after': s.retryAfter } : {},
    );
  }
  if (s.type === 'hang') return;
  // billed_units differ from tokens on purpose: the adapter reports what the model processed
  const usage = {
    billed_units: { input_tokens: Math.max(0, s.usage.input - 2), output_tokens: s.usage.output },
    tokens: { input_tokens: s.usage.input, output_tokens: s.usage.output },
  };
  const isTool = s.type === 'tool_call';
  if (!call.body.stream) {
    const message = isTool
      ? {
          role: 'assistant',
          tool_plan: 'I will look up the weather.',
          tool_calls: [{ id: s.id, type: 'function', function: { name: s.name, arguments: JSON.stringify(s.args) } }],
        }
      : { role: 'assistant', content: [{ type: 'text', text: s.text }] };
    return sendJson(res, 200, { id: 'co-chat-1', message, finish_reason: isTool ? 'TOOL_CALL' : 'COMPLETE', usage });
  }
  const ev: [string, unknown][] = [
    [
      'message-start',
      {
        id: 'co-chat-2',
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
      },
    ],
  ];
  if (isTool) {
    ev.push([
      'tool-plan-delta',
      { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look up the weather.' } } },
    ]);
    ev.push([
      'tool-call-start',
      {
        type: 'tool-call-start',
        index: 0,
        delta: { message: { tool_calls: { id: s.id, type: 'function', function: { name: s.name, arguments: '' } } } },
      },
    ]);
    for (const p of halves(JSON.stringify(s.args)))
      ev.push([
        'tool-call-delta',
        { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: p } } } } },
      ]);
    ev.push(['tool-call-end', { type: 'tool-call-end', index: 0 }]);
  } else {
    ev.push([
      'content-start',
      { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
    ]);
    for (const p of pieces(s.text))
      ev.push(['content-delta', { type: 'content-delta', index: 0, delta: { message: { content: { text: p } } } }]);
    ev.push(['content-end', { type: 'content-end', index: 0 }]);
  }
  ev.push(['message-end', { type: 'message-end', delta: { finish_reason: isTool ? 'TOOL_CALL' : 'COMPLETE', usage } }]);
  return sendSse(res, ev);
}

/** Start the fake Cohere API on 127.0.0.1. */
export function startCohereUpstream(): Promise<ContractFake> {
  return startScriptedFake(answer);
}
