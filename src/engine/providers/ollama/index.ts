import { randomUUID } from 'node:crypto';
import { embeddingList } from '../../embedding.js';
import { badRequest } from '../../errors.js';
import { estimatePromptTokens } from '../../tokens.js';
import { badUpstreamAnswer, mapHttpError } from '../errors.js';
import { prepareOpenAIStyle } from '../openai-compatible/base.js';
import {
  type CallContext,
  defineProvider,
  type JsonObject,
  type ProviderAdapter,
  type UpstreamRequest,
} from '../types.js';
import {
  createdOf,
  finishReason,
  ollamaFormat,
  ollamaMessages,
  ollamaOptions,
  ollamaUsage,
  openAIToolCalls,
} from './convert.js';
import { OllamaStreamDecoder } from './stream.js';

interface OllamaState {
  label: string;
  origin: string;
  basePath: string;
  apiBase: string;
  headers: Record<string, string>;
  keepAlive?: unknown;
}

/** Ollama through its native API: /api/chat, /api/generate, /api/embed (NDJSON streams). */
export function ollamaAdapter(id: 'ollama' | 'ollama_chat'): ProviderAdapter {
  return defineProvider<OllamaState>({
    id,
    label: 'Ollama',
    endpoints: ['chat', 'completion', 'embedding'],
    unsupportedParams: ['logit_bias', 'logprobs', 'top_logprobs', 'n'],
    prepare(spec) {
      const s = prepareOpenAIStyle(spec, {
        label: 'Ollama',
        defaultApiBase: 'http://localhost:11434',
        keyEnv: ['OLLAMA_API_KEY'],
        baseEnv: ['OLLAMA_API_BASE'],
      });
      // an api_base copied from an OpenAI-style config often ends in /v1; the native API lives at the root
      const basePath = s.basePath.replace(/\/v1$/, '');
      return { ...s, basePath, apiBase: s.origin + basePath, keepAlive: spec.params.keep_alive };
    },
    describe: (s) => ({ api_base: s.apiBase }),
    buildRequest(s, call): UpstreamRequest {
      const b = call.body;
      let path: string;
      let body: JsonObject;
      if (call.kind === 'embedding') {
        path = '/api/embed';
        body = { model: call.model, input: b.input };
        if (b.dimensions !== undefined) body.dimensions = b.dimensions;
      } else {
        const options = ollamaOptions(b);
        if (call.kind === 'chat') {
          path = '/api/chat';
          body = { model: call.model, messages: ollamaMessages(b.messages), stream: call.stream };
          if (Array.isArray(b.tools) && b.tools.length > 0) body.tools = b.tools;
        } else {
          path = '/api/generate';
          const prompt = Array.isArray(b.prompt) ? b.prompt.join('\n') : b.prompt;
          if (typeof prompt !== 'string') throw badRequest('prompt: expected a string', 'prompt');
          body = { model: call.model, prompt, stream: call.stream };
          if (typeof b.suffix === 'string') body.suffix = b.suffix;
        }
        if (options) body.options = options;
        const format = ollamaFormat(b.response_format);
        if (format !== undefined) body.format = format;
        if (b.reasoning_effort !== undefined) body.think = b.reasoning_effort !== 'none';
      }
      const keepAlive = b.keep_alive ?? s.keepAlive;
      if (keepAlive !== undefined) body.keep_alive = keepAlive;
      return {
        origin: s.origin,
        path: s.basePath + path,
        method: 'POST',
        headers: s.headers,
        body: JSON.stringify(body),
      };
    },
    parseResponse(s, call, json) {
      if (!json || typeof json !== 'object') throw badUpstreamAnswer(s.label, 'an answer that is not a JSON object');
      const o = json as JsonObject;
      if (call.kind === 'embedding') return parseEmbed(s, call, o);
      const usage = ollamaUsage(o);
      const created = createdOf(o.created_at);
      const model = typeof o.model === 'string' ? o.model : call.model;
      if (call.kind === 'completion') {
        if (typeof o.response !== 'string') throw badUpstreamAnswer(s.label, 'an answer without "response"');
        return {
          id: `cmpl-${randomUUID()}`,
          object: 'text_completion',
          created,
          model,
          choices: [{ index: 0, text: o.response, finish_reason: finishReason(o.done_reason, false), logprobs: null }],
          usage,
        };
      }
      const m = o.message as JsonObject | undefined;
      if (!m || typeof m !== 'object') throw badUpstreamAnswer(s.label, 'an answer without "message"');
      const toolCalls = openAIToolCalls(m.tool_calls, false);
      const message: JsonObject = {
        role: 'assistant',
        content: typeof m.content === 'string' && (m.content !== '' || !toolCalls) ? m.content : null,
      };
      if (toolCalls) message.tool_calls = toolCalls;
      if (typeof m.thinking === 'string' && m.thinking !== '') message.reasoning_content = m.thinking;
      return {
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message, finish_reason: finishReason(o.done_reason, !!toolCalls), logprobs: null }],
        usage,
      };
    },
    streamDecoder: (s, call) => new OllamaStreamDecoder(call.kind, call.model, s.label),
    mapError: (s, err) => mapHttpError(s.label, err),
    healthRequest: (s) => ({ origin: s.origin, path: `${s.basePath}/api/tags`, method: 'GET', headers: s.headers }),
  });
}

function parseEmbed(s: OllamaState, call: CallContext, o: JsonObject) {
  if (!Array.isArray(o.embeddings)) throw badUpstreamAnswer(s.label, 'an answer without "embeddings"');
  const prompt = typeof o.prompt_eval_count === 'number' ? o.prompt_eval_count : estimatePromptTokens(call.body.input);
  return embeddingList(
    o.embeddings as number[][],
    typeof o.model === 'string' ? o.model : call.model,
    call.body.encoding_format,
    prompt,
  );
}
