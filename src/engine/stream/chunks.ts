import { randomUUID } from 'node:crypto';
import { badUpstreamAnswer } from '../providers/errors.js';
import type { JsonObject, OpenAIChunk } from '../wire.js';

/**
 * What a decoder that translates a provider's stream into chat chunks stamps on each one: one id and one
 * created time for the whole stream, and the model. Subclasses may replace `id` and `model` with the
 * provider's own once its stream names them (Anthropic's message_start, Cohere's message-start).
 */
export abstract class ChatChunkSource {
  protected id = `chatcmpl-${randomUUID()}`;
  protected readonly created = Math.floor(Date.now() / 1000);

  constructor(protected model: string) {}

  /** A chat chunk with one choice. */
  protected chunk(delta: JsonObject, finish: string | null = null): OpenAIChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }

  /** The final usage chunk (`choices: []`). */
  protected usageChunk(usage: JsonObject): OpenAIChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
  }
}

/** One stream event's JSON object, or the error that says the provider sent something else. */
export function eventObject(label: string, data: string): JsonObject {
  let o: unknown;
  try {
    o = JSON.parse(data);
  } catch {
    throw badUpstreamAnswer(label, `a stream event that is not JSON: ${JSON.stringify(data.slice(0, 80))}`);
  }
  if (o === null || typeof o !== 'object') throw badUpstreamAnswer(label, 'a stream event that is not an object');
  return o as JsonObject;
}
