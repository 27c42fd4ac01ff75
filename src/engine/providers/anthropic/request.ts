/**
 * The whole Anthropic Messages request body for one OpenAI chat request: messages, sampling params,
 * tools, `max_tokens` (required by Anthropic: defaulted per model), JSON mode emulated with a forced tool.
 */
import type { JsonObject } from '../types.js';
import { anthropicMessages, anthropicToolChoice, anthropicTools, JSON_TOOL } from './convert.js';

/** Output limits Anthropic documents per model family; 4096 for anything not listed. */
const MAX_TOKENS: [RegExp, number][] = [
  [/claude-(opus|sonnet|haiku)-4|claude-(opus|sonnet|haiku)-\d+-\d/, 8192],
  [/claude-3-7|claude-3-5/, 8192],
];

/** `max_tokens` to send when the request has none: model_info.max_output_tokens, else the table, else 4096. */
export function defaultMaxTokens(model: string, info: Readonly<Record<string, unknown>>): number {
  const fromInfo = info.max_output_tokens ?? info.max_tokens;
  if (typeof fromInfo === 'number' && fromInfo > 0) return fromInfo;
  for (const [re, n] of MAX_TOKENS) if (re.test(model)) return n;
  return 4096;
}

const THINKING_BUDGET: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };

/** Build the Messages API body (model, system, messages, tools, params). */
export function anthropicBody(body: JsonObject, model: string, stream: boolean, maxTokensDefault: number): JsonObject {
  const { system, messages } = anthropicMessages(body.messages);
  const out: JsonObject = { model, messages };
  if (system.length > 0)
    out.system = system.length === 1 && system[0].type === 'text' && !system[0].cache_control ? system[0].text : system;
  const max = body.max_completion_tokens ?? body.max_tokens;
  out.max_tokens = typeof max === 'number' ? max : maxTokensDefault;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.top_p = body.top_p;
  if (body.top_k != null) out.top_k = body.top_k;
  if (body.stop != null) out.stop_sequences = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (body.metadata && typeof body.metadata === 'object') out.metadata = body.metadata;
  const tools = anthropicTools(body.tools);
  if (tools) out.tools = tools;
  const choice = anthropicToolChoice(body.tool_choice, body.parallel_tool_calls);
  if (choice && (tools || choice.type === 'none')) out.tool_choice = choice;
  if (body.thinking && typeof body.thinking === 'object') out.thinking = body.thinking;
  else if (typeof body.reasoning_effort === 'string' && THINKING_BUDGET[body.reasoning_effort]) {
    out.thinking = { type: 'enabled', budget_tokens: THINKING_BUDGET[body.reasoning_effort] };
  }
  const schema = jsonSchemaOf(body.response_format);
  if (schema) {
    // no JSON mode in the Messages API: force one tool whose input is the answer
    out.tools = [
      ...((out.tools as JsonObject[] | undefined) ?? []),
      { name: JSON_TOOL, description: 'Respond with a JSON object.', input_schema: schema },
    ];
    out.tool_choice = { type: 'tool', name: JSON_TOOL };
  }
  if (stream) out.stream = true;
  return out;
}

/** The schema to force for `response_format` (json_object: any object; json_schema: its schema). */
export function jsonSchemaOf(rf: unknown): JsonObject | undefined {
  if (!rf || typeof rf !== 'object') return undefined;
  const r = rf as JsonObject;
  if (r.type === 'json_object') return { type: 'object', additionalProperties: true };
  if (r.type === 'json_schema') {
    const s = (r.json_schema as JsonObject | undefined)?.schema;
    return s && typeof s === 'object' ? (s as JsonObject) : { type: 'object', additionalProperties: true };
  }
  return undefined;
}
