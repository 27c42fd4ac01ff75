import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { badRequest, GatewayError } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { badUpstreamAnswer, mapHttpError } from '../providers/errors.js';
import type { NativeCall } from '../router/attempt.js';
import { dispatch } from '../router/dispatch.js';
import { estimateChatPromptTokens } from '../tokens.js';
import type { JsonObject, OpenAIResponse } from '../wire.js';
import { DbResponseStore } from './db-store.js';
import { historyOf, nativeBody, ownResponse, readResponsesRequest, responseNotFound, toChatBody } from './request.js';
import { chatToResponse, newId } from './response.js';
import { MemoryResponseStore, type ResponseStore, type StoredResponse } from './store.js';
import { ChatToResponsesFraming, NativeResponsesFraming, ResponsesSseDecoder } from './stream.js';

const stores = new WeakMap<EngineContext, ResponseStore>();

/**
 * The engine's response store: the one given with `useResponseStore`; else the governance database when the
 * engine has one (a master key and a store), else a bounded in-memory one.
 */
export function responseStore(ctx: EngineContext): ResponseStore {
  let s = stores.get(ctx);
  if (!s) {
    const g = ctx.governance;
    if (g) {
      const db = new DbResponseStore(g.store, g.now);
      g.onClose(() => db.flush());
      s = db;
    } else s = new MemoryResponseStore();
    stores.set(ctx, s);
  }
  return s;
}

/** Keep an engine's responses in `store` (a database-backed one) instead of memory; call before serving. */
export function useResponseStore(ctx: EngineContext, store: ResponseStore): void {
  stores.set(ctx, store);
}

/**
 * POST /v1/responses: the request is read and checked once, its conversation rebuilt from the store, then routed
 * like chat. An OpenAI-family deployment gets the Responses body natively (`RouteRequest.native`); any other
 * gets the chat translation, and its answer or stream is translated back. The response is stored (unless
 * `store: false`) once the client has it whole.
 */
export async function handleResponses(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter): Promise<void> {
  const raw = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  const store = responseStore(ctx);
  const owner = w.principal.keyHash;
  const r = await readResponsesRequest(raw, store, owner);
  const chat = toChatBody(raw, r);
  // admission (budgets, limits) and pre-call checks see the chat body: one shape for token estimates
  applyControlHeaders(chat.body, req.headers);
  const admitted = w.admit(r.model, chat.body, req.headers);
  if (admitted) await admitted;
  const route = w.route('chat', chat.body, r.model, r.stream);
  const native: NativeCall = {
    api: 'responses',
    body: nativeBody(raw, r),
    parse: parseNative,
    decoder: nativeDecoder,
    adjust: outputCap,
  };
  if (chat.error) native.error = chat.error;
  route.native = native;
  const outcome = await dispatch(ctx, route);
  // `model` echoes the requested name, unless a fallback group answered: then it names that group
  const model = outcome.attemptedFallbacks ? outcome.deployment.modelName : r.model;
  const keep = (response: JsonObject, text?: string) => {
    if (!r.store || typeof response.id !== 'string') return;
    const input = withIds(r.input);
    const bytes = (text ?? JSON.stringify(response)).length + JSON.stringify(input).length;
    const entry: StoredResponse = { response, input, previous: r.previous, owner, bytes };
    try {
      const p = store.put(response.id, entry);
      if (p instanceof Promise) p.catch((e: unknown) => storeFailed(ctx, w, e));
    } catch (e) {
      storeFailed(ctx, w, e);
    }
  };
  if (outcome.type === 'json') {
    let response: JsonObject;
    if (outcome.native) {
      response = outcome.response;
      if (r.previous !== undefined) response.previous_response_id = r.previous;
    } else response = chatToResponse(outcome.response, raw, newId('resp'), model);
    const text = JSON.stringify(response);
    keep(response, text);
    return w.sendAnswer(outcome, text);
  }
  const framing = outcome.native
    ? new NativeResponsesFraming(r.previous, keep)
    : new ChatToResponsesFraming(raw, newId('resp'), model, estimateChatPromptTokens(chat.body), keep);
  return w.sendStream(outcome, framing);
}

function storeFailed(ctx: EngineContext, w: ResponseWriter, e: unknown): void {
  ctx.logger.warn(w.logFields({ error: e instanceof Error ? e.message : String(e) }), 'storing a response failed');
}

/** Input items as stored: each with an id (the input_items list pages by them), the client's where it gave one. */
function withIds(items: JsonObject[]): JsonObject[] {
  return items.map((item) => {
    if (typeof item.id === 'string') return item;
    const prefix = ITEM_PREFIX[item.type as string] ?? 'item';
    return { id: newId(prefix), ...item };
  });
}
const ITEM_PREFIX: Record<string, string> = { message: 'msg', function_call: 'fc', function_call_output: 'fco' };

const BY_ID = /^\/responses\/([^/]+)(\/input_items)?$/;

/** Whether a route is `/responses/{id}` or `/responses/{id}/input_items` (after `/v1` is stripped). */
export function isResponseIdRoute(route: string): boolean {
  return route.startsWith('/responses/') && BY_ID.test(route);
}

/**
 * GET /v1/responses/{id}: the stored response; DELETE: forget it. Only the key that made a response sees it
 * (a 404 for anyone else, as for an id never stored).
 */
export async function handleResponseById(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  route: string,
): Promise<void> {
  const pending = w.authenticate(req.headers);
  if (pending) await pending;
  const m = BY_ID.exec(route)!;
  const id = decodeURIComponent(m[1]);
  const store = responseStore(ctx);
  const owner = w.principal.keyHash;
  const method = req.method;
  if (method === 'GET' || method === 'HEAD') {
    const r = await ownResponse(store, id, owner);
    if (!r) throw responseNotFound(id);
    if (m[2]) return sendJson(w.res, 200, JSON.stringify(await inputItems(store, r, owner, req.url ?? '')), w.headers);
    return sendJson(w.res, 200, JSON.stringify(r.response), w.headers);
  }
  if (method === 'DELETE') {
    if (!(await ownResponse(store, id, owner))) throw responseNotFound(id);
    const d = store.delete(id);
    if (d instanceof Promise) await d;
    return sendJson(w.res, 200, JSON.stringify({ id, object: 'response', deleted: true }), w.headers);
  }
  throw new GatewayError(405, {
    message: m[2]
      ? `Method ${method} is not allowed on /v1/responses/{id}/input_items (GET is).`
      : `Method ${method} is not allowed on /v1/responses/{id} (GET and DELETE are).`,
    code: '405',
    errorClass: 'bad_request',
  });
}

/**
 * GET /v1/responses/{id}/input_items: the items the response was made from (the earlier turns' inputs and outputs,
 * then its own input), as a page: `order` (desc by default), `limit` (1-100, 20), `after` (an item id).
 */
async function inputItems(
  store: ResponseStore,
  r: StoredResponse,
  owner: string | undefined,
  url: string,
): Promise<JsonObject> {
  const q = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const order = q.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw badRequest(`Invalid "order": expected "asc" or "desc", got ${JSON.stringify(order)}.`, 'order');
  const limit = q.has('limit') ? Number(q.get('limit')) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw badRequest(`Invalid "limit": expected an integer from 1 to 100, got ${q.get('limit')}.`, 'limit');
  const all = r.previous === undefined ? [...r.input] : [...(await historyOf(store, r.previous, owner)), ...r.input];
  if (order === 'desc') all.reverse();
  const after = q.get('after');
  let from = 0;
  if (after) {
    const at = all.findIndex((i) => i.id === after);
    if (at === -1) throw badRequest(`Invalid "after": no item '${after}' in this response's input.`, 'after');
    from = at + 1;
  }
  const data = all.slice(from, from + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: from + limit < all.length,
  };
}

/** A native answer: a response object with its output list (a 200 holding an error object is that error). */
function parseNative(label: string, json: unknown): OpenAIResponse {
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw badUpstreamAnswer(label, 'an answer that is not a JSON object');
  const o = json as JsonObject;
  if (!Array.isArray(o.output)) {
    if (o.error && typeof o.error === 'object')
      throw mapHttpError(label, { status: 502, headers: {}, body: JSON.stringify({ error: o.error }) });
    throw badUpstreamAnswer(label, 'a Responses answer without "output"');
  }
  return o;
}

/** A deployment's chat-named output cap (`litellm_params.max_tokens`) under the Responses API's name. */
function outputCap(body: JsonObject): void {
  for (const k of ['max_tokens', 'max_completion_tokens']) {
    if (body[k] === undefined) continue;
    body.max_output_tokens ??= body[k];
    delete body[k];
  }
}

function nativeDecoder(label: string): ResponsesSseDecoder {
  return new ResponsesSseDecoder(label);
}
