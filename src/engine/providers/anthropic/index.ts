import { extractErrorDetail, mapHttpError } from '../errors.js';
import { lowerKeys, str } from '../params.js';
import { defineProvider, type MessagesCall, type ProviderAdapter, type UpstreamRequest } from '../types.js';
import { NativeStreamDecoder, nativeView, readCount } from './native.js';
import { anthropicBody, defaultMaxTokens } from './request.js';
import { parseAnthropicResponse } from './response.js';
import { AnthropicStreamDecoder } from './stream.js';

interface AnthropicState {
  label: string;
  origin: string;
  /** path of the Messages endpoint, e.g. `/v1/messages` */
  messagesPath: string;
  /** path of the token-counting endpoint, e.g. `/v1/messages/count_tokens` */
  countPath: string;
  apiBase: string;
  headers: Record<string, string>;
  /** litellm_params.anthropic_version was set: it wins over the client's header */
  versionPinned: boolean;
  info: Readonly<Record<string, unknown>>;
}

const LABEL = 'Anthropic';
const DEFAULT_BASE = 'https://api.anthropic.com';

/**
 * Anthropic through the Messages API (`POST /v1/messages`, `x-api-key`, `anthropic-version`).
 * OpenAI chat in, Anthropic on the wire, OpenAI back (see convert.ts, request.ts, stream.ts).
 */
export const anthropicAdapter: ProviderAdapter = defineProvider<AnthropicState>({
  id: 'anthropic',
  label: LABEL,
  endpoints: ['chat'],
  unsupportedParams: ['n', 'logit_bias', 'logprobs', 'top_logprobs', 'frequency_penalty', 'presence_penalty', 'seed'],
  prepare(spec) {
    const p = spec.params;
    const base =
      str(p.api_base) ??
      str(p.base_url) ??
      str(spec.env.ANTHROPIC_API_BASE) ??
      str(spec.env.ANTHROPIC_BASE_URL) ??
      DEFAULT_BASE;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new Error(
        `${spec.at}.litellm_params.api_base: expected a URL like ${DEFAULT_BASE}, found ${JSON.stringify(base)}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`${spec.at}.litellm_params.api_base: expected an http(s) URL, found ${JSON.stringify(base)}`);
    // accept https://host, https://host/v1 and https://host/v1/messages alike
    let path = url.pathname.replace(/\/+$/, '');
    if (!path.endsWith('/messages')) path = `${path.endsWith('/v1') ? path : `${path}/v1`}/messages`;
    const key = str(p.api_key) ?? str(spec.env.ANTHROPIC_API_KEY);
    if (!key)
      spec.warn?.('no API key: set litellm_params.api_key or ANTHROPIC_API_KEY (requests will be refused upstream)');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': str(p.anthropic_version) ?? '2023-06-01',
    };
    if (key) headers['x-api-key'] = key;
    Object.assign(headers, lowerKeys(p.headers), lowerKeys(p.extra_headers));
    return {
      label: LABEL,
      origin: url.origin,
      messagesPath: path + url.search,
      countPath: `${path}/count_tokens${url.search}`,
      apiBase: url.origin + path.replace(/\/messages$/, ''),
      headers,
      versionPinned: str(p.anthropic_version) !== undefined,
      info: spec.info,
    };
  },
  describe: (s) => ({ api_base: s.apiBase }),
  buildRequest(s, call): UpstreamRequest {
    const body = anthropicBody(call.body, call.model, call.stream, defaultMaxTokens(call.model, s.info));
    return {
      origin: s.origin,
      path: s.messagesPath,
      method: 'POST',
      headers: call.stream ? { ...s.headers, accept: 'text/event-stream' } : s.headers,
      body: JSON.stringify(body),
    };
  },
  parseResponse: (s, call, json) => parseAnthropicResponse(s.label, call.model, json),
  streamDecoder: (s, call) => new AnthropicStreamDecoder(s.label, call.model),
  // {"type":"error","error":{"type":"overloaded_error","message":...}} is read by extractErrorDetail; 529 -> 503
  mapError(s, err) {
    const detail = extractErrorDetail(err.body);
    // Anthropic words its policy refusals "blocked by content filtering policy"
    if (err.status === 400 && /content filtering policy/i.test(detail.message ?? ''))
      detail.code = 'content_policy_violation';
    return mapHttpError(s.label, err, detail);
  },
  // Messages requests from /v1/messages go upstream as the client wrote them, with its betas and version
  messages: {
    accepts: () => true,
    request: (s, call) => nativePost(s, s.messagesPath, call, call.stream ? 'text/event-stream' : 'application/json'),
    view: (s, model, json) => nativeView(s.label, model, json),
    decoder: (s, model) => new NativeStreamDecoder(s.label, model),
    countTokens: (s, call) => nativePost(s, s.countPath, call, 'application/json'),
    readCount,
  },
  healthRequest: (s) => ({
    origin: s.origin,
    path: s.messagesPath.replace(/\/messages(\?|$)/, '/models$1'),
    method: 'GET',
    headers: s.headers,
  }),
});

function nativePost(s: AnthropicState, path: string, call: MessagesCall, accept: string): UpstreamRequest {
  const headers: Record<string, string> = { ...s.headers, accept };
  // the client's API version, unless the deployment pins one (litellm_params.anthropic_version)
  if (call.version && !s.versionPinned) headers['anthropic-version'] = call.version;
  if (call.beta) headers['anthropic-beta'] = call.beta;
  return { origin: s.origin, path, method: 'POST', headers, body: JSON.stringify(call.body) };
}
