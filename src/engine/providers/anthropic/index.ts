import { extractErrorDetail, mapHttpError } from '../errors.js';
import { lowerKeys, str } from '../params.js';
import { defineProvider, type ProviderAdapter, type UpstreamRequest } from '../types.js';
import { anthropicBody, defaultMaxTokens } from './request.js';
import { parseAnthropicResponse } from './response.js';
import { AnthropicStreamDecoder } from './stream.js';

interface AnthropicState {
  label: string;
  origin: string;
  /** path of the Messages endpoint, e.g. `/v1/messages` */
  messagesPath: string;
  apiBase: string;
  headers: Record<string, string>;
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
      apiBase: url.origin + path.replace(/\/messages$/, ''),
      headers,
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
  healthRequest: (s) => ({
    origin: s.origin,
    path: s.messagesPath.replace(/\/messages(\?|$)/, '/models$1'),
    method: 'GET',
    headers: s.headers,
  }),
});
