import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { callCost, candidates, priceOf } from '../cost/cost.js';
import type { ModelPrice } from '../cost/prices.js';
import { badRequest } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { splitProvider } from '../providers/resolve.js';
import { encodingFor } from '../router/model-catalog.js';
import { countPromptTokens } from '../router/pre-call.js';
import { resolveModel } from '../router/resolve.js';
import { tokenUsage } from '../upstream/result.js';
import type { JsonObject } from '../wire.js';

/**
 * POST /spend/calculate (LiteLLM's): `{model, messages}` prices the prompt's tokens (no completion);
 * `{model, completion_response}` prices that answer's `usage`. The model is a served name (group,
 * alias, wildcard: its deployment's price, overrides included) or a model name in the price map.
 * Answers `{"cost": x}`; a model without a price costs 0 and the answer says `"unpriced": true`.
 */
export async function handleSpendCalculate(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter): Promise<void> {
  const body = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  const cr = isObject(body.completion_response) ? body.completion_response : undefined;
  const model = typeof body.model === 'string' && body.model !== '' ? body.model : cr?.model;
  if (typeof model !== 'string' || model === '') {
    throw badRequest('Missing required parameter: "model".', 'model', 'missing_required_parameter');
  }
  if (!cr && !Array.isArray(body.messages)) {
    throw badRequest(
      'Missing required parameter: "messages" (or "completion_response").',
      'messages',
      'missing_required_parameter',
    );
  }
  const resolved = resolveModel(ctx.table, model);
  const dep = resolved?.group.deployments[0];
  const price: ModelPrice | undefined = (dep && priceOf(dep, model)) || mapPrice(ctx, model);
  let usage = cr ? tokenUsage(cr.usage) : undefined;
  if (cr && !usage) {
    throw badRequest('Invalid "completion_response": it has no "usage".', 'completion_response', 'invalid_value');
  }
  if (price && !usage) {
    const prompt = await countPromptTokens('chat', body, dep?.encoding ?? encodingFor(model));
    usage = { prompt, completion: 0, total: prompt, cached: 0, cacheCreation: 0, reasoning: 0 };
  }
  const answer = price && usage ? { cost: callCost(price, usage, 0) } : { cost: 0, unpriced: true };
  sendJson(w.res, 200, JSON.stringify(answer), w.headers);
}

/** A raw model name in the price map (with and without its provider prefix). */
function mapPrice(ctx: EngineContext, model: string): ModelPrice | undefined {
  const split = splitProvider(model);
  for (const name of candidates({
    litellmModel: model,
    provider: split.provider,
    model: split.model,
    info: {},
    params: {},
  })) {
    const p = ctx.prices.get(name);
    if (p) return p;
  }
  return undefined;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
