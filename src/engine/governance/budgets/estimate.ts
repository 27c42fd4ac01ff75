/**
 * The most a call can cost, reserved against budgets before it runs: its input tokens (estimated from the
 * body) at the input price, plus `max_completion_tokens` / `max_tokens` (else the model's max output) at the
 * output price. A group of several deployments is priced at its most expensive one (any may answer).
 */
import { priceOf } from '../../cost/cost.js';
import type { SettledEndpoint } from '../../observability/settled.js';
import { resolveModel } from '../../router/resolve.js';
import type { RouteTable } from '../../router/table.js';
import { contentText, estimateChatPromptTokens, estimatePromptTokens, estimateTokens } from '../../tokens.js';
import type { JsonObject } from '../../wire.js';

/** Output tokens assumed when neither the request nor the price map gives a maximum. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

interface GroupPrice {
  /** USD per input / output token, the highest of the group's deployments */
  input: number;
  output: number;
  /** the largest max output tokens the group's deployments declare */
  maxOutput: number;
}

export interface CallEstimate {
  /** USD: input plus maximum output */
  max: number;
  /** USD of the input alone (what a client abort is reconciled to when the upstream reported nothing) */
  input: number;
}

const ZERO: CallEstimate = Object.freeze({ max: 0, input: 0 });

/** Estimates per model name (the group's price is computed once). */
export class CostEstimator {
  private readonly groups = new Map<string, GroupPrice | null>();

  constructor(readonly table: RouteTable) {}

  /** The call's most and input cost; zeros when the model has no price (then only a read-time check holds). */
  estimate(endpoint: SettledEndpoint, model: string, body: JsonObject): CallEstimate {
    const price = this.priceOf(model);
    if (!price) return ZERO;
    const inputTokens = inputTokensOf(endpoint, body);
    const input = inputTokens * price.input;
    // only chat-like endpoints write tokens the reservation must cover
    if (endpoint !== 'chat' && endpoint !== 'completion' && endpoint !== 'messages') return { max: input, input };
    const asked = num(body.max_completion_tokens) ?? num(body.max_tokens);
    const out = asked ?? price.maxOutput;
    return { max: input + out * price.output, input };
  }

  private priceOf(model: string): GroupPrice | null {
    let p = this.groups.get(model);
    if (p !== undefined) return p;
    p = null;
    const r = resolveModel(this.table, model);
    if (r) {
      for (const dep of r.group.deployments) {
        const dp = priceOf(dep, model);
        if (!dp) continue;
        // a per-second price has no token rate: it cannot be reserved ahead, only charged after
        p ??= { input: 0, output: 0, maxOutput: 0 };
        p.input = Math.max(p.input, dp.input);
        p.output = Math.max(p.output, dp.output, dp.reasoning ?? 0);
        p.maxOutput = Math.max(p.maxOutput, dp.maxOutputTokens ?? 0);
      }
      if (p && p.maxOutput === 0) p.maxOutput = DEFAULT_MAX_OUTPUT_TOKENS;
    }
    // clients choose the names: keep the map bounded
    if (this.groups.size >= 1000) this.groups.clear();
    this.groups.set(model, p);
    return p;
  }
}

function inputTokensOf(endpoint: SettledEndpoint, body: JsonObject): number {
  switch (endpoint) {
    case 'chat':
    case 'responses': // admitted with its chat translation
      return estimateChatPromptTokens(body);
    case 'messages':
      return (
        estimateChatPromptTokens(body) + (body.system === undefined ? 0 : estimateTokens(contentText(body.system)))
      );
    case 'completion':
      return estimatePromptTokens(body.prompt);
    case 'embedding':
    case 'moderation':
    case 'audio_speech':
      return estimatePromptTokens(body.input);
    case 'rerank':
      return estimatePromptTokens(body.query) + estimatePromptTokens(body.documents);
    case 'image_generation':
    case 'audio_transcription':
      return estimatePromptTokens(body.prompt);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
