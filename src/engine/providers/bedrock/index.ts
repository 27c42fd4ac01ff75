/**
 * AWS Bedrock: chat through the Converse / ConverseStream API (`bedrock/<model-id>` and
 * `bedrock/converse/<model-id>`), embeddings and images through InvokeModel (Titan, Cohere; Stability, Titan
 * Image, Nova Canvas), rerank through the Agents runtime's Rerank API; every request
 * SigV4-signed with credentials from a cached provider built at load time.
 */
import { cloudBody, NativeStreamDecoder, nativeView, readCount } from '../anthropic/native.js';
import { mapHttpError } from '../errors.js';
import { type CallContext, defineProvider, type ProviderAdapter } from '../types.js';
import { converseBody, jsonModeSchema } from './convert.js';
import { type AwsCredentialSource, awsCredentials, awsRegion } from './credentials.js';
import { embedBody, embedFamily, parseEmbedding } from './embed.js';
import { mapBedrockError } from './errors.js';
import { EventStreamDecoder } from './event-stream.js';
import { imageBody, parseImageAnswer, parseRerankAnswer, rerankBody } from './media.js';
import { parseConverse } from './response.js';
import { type BedrockEndpoint, bedrockEndpoint, modelPath, signedPost } from './sign.js';
import { ConverseStreamDecoder } from './stream.js';

interface BedrockState {
  label: string;
  region: string;
  endpoint: BedrockEndpoint;
  /** the Agents runtime (rerank): AWS's regional one, or the configured endpoint when one is set */
  agent: BedrockEndpoint;
  apiBase: string;
  source: AwsCredentialSource;
  /** the model id of the deployment (for health checks) */
  modelId: string;
}

const LABEL = 'Bedrock';

/** `converse/anthropic.claude-...` -> `anthropic.claude-...` (the route prefix is not part of the id). */
function modelIdOf(model: string): string {
  return model.replace(/^(converse|invoke)\//, '');
}

/** JSON mode is decided by the request alone, so answers are read the way the request was built. */
function jsonMode(call: CallContext): boolean {
  return jsonModeSchema(call.body.response_format) !== undefined;
}

const BEDROCK_VERSION = 'bedrock-2023-05-31';
/** Claude's model ids, with or without a cross-region prefix, or an ARN naming one */
const ANTHROPIC_ID = /(^|[./])anthropic\.claude/;

/**
 * InvokeModelWithResponseStream's frames -> Anthropic SSE text: each `chunk` event carries one Messages
 * event as base64 JSON in `bytes`; an exception frame becomes Anthropic's `error` event.
 */
function invokeStreamText(label: string): (bytes: Uint8Array) => string {
  const frames = new EventStreamDecoder();
  return (bytes) => {
    let text = '';
    for (const ev of frames.push(bytes)) {
      if (ev.messageType === 'exception' || ev.messageType === 'error') {
        const message = ev.errorMessage ?? safeMessage(ev.payload) ?? ev.exceptionType ?? 'stream error';
        const type = /throttl/i.test(ev.exceptionType ?? '') ? 'rate_limit_error' : 'api_error';
        text += sse('error', JSON.stringify({ type: 'error', error: { type, message: `${label}: ${message}` } }));
        continue;
      }
      if (ev.eventType !== 'chunk') continue;
      let json: string;
      try {
        const b = (JSON.parse(ev.payload) as { bytes?: unknown }).bytes;
        if (typeof b !== 'string') continue;
        json = Buffer.from(b, 'base64').toString('utf8');
      } catch {
        continue;
      }
      let type = 'message';
      try {
        const t = (JSON.parse(json) as { type?: unknown }).type;
        if (typeof t === 'string') type = t;
      } catch {
        continue;
      }
      text += sse(type, json);
    }
    return text;
  };
}

const sse = (event: string, data: string) => `event: ${event}\ndata: ${data}\n\n`;

function safeMessage(payload: string): string | undefined {
  try {
    const m = (JSON.parse(payload) as { message?: unknown }).message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The Bedrock adapter. */
export const bedrockAdapter: ProviderAdapter = defineProvider<BedrockState>({
  id: 'bedrock',
  label: LABEL,
  endpoints: ['chat', 'embedding', 'rerank', 'image_generation'],
  unsupportedParams: ['n', 'logit_bias', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'seed'],
  prepare(spec) {
    const region = awsRegion(spec);
    // where to send calls, as LiteLLM picks it: api_base, aws_bedrock_runtime_endpoint,
    // AWS_BEDROCK_RUNTIME_ENDPOINT, else AWS's regional endpoint (a config meant for a local endpoint never calls AWS)
    const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
    const [key, raw] = ((): [string, string] => {
      const p = spec.params;
      const base = text(p.api_base);
      if (base) return ['litellm_params.api_base', base];
      const ep = text(p.aws_bedrock_runtime_endpoint);
      if (ep) return ['litellm_params.aws_bedrock_runtime_endpoint', ep];
      const env = text(spec.env.AWS_BEDROCK_RUNTIME_ENDPOINT);
      if (env) return ['AWS_BEDROCK_RUNTIME_ENDPOINT', env];
      return ['', `https://bedrock-runtime.${region}.amazonaws.com`];
    })();
    let url: URL;
    try {
      url = new URL(raw);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
    } catch {
      const where = key.startsWith('litellm_params') ? `${spec.at}.${key}` : key;
      throw new Error(`${where}: expected an http(s) URL, found ${JSON.stringify(raw)}`);
    }
    const { provider, source } = awsCredentials(spec, region);
    const extra: Record<string, string> = {};
    for (const h of [spec.params.headers, spec.params.extra_headers]) {
      if (h && typeof h === 'object')
        for (const [k, v] of Object.entries(h)) if (v != null) extra[k.toLowerCase()] = String(v);
    }
    const endpoint = bedrockEndpoint(url, region, provider, extra);
    // rerank lives on the Agents runtime; a configured endpoint (a proxy, a fake) serves both
    const agentUrl = key === '' ? new URL(`https://bedrock-agent-runtime.${region}.amazonaws.com`) : url;
    return {
      label: LABEL,
      region,
      endpoint,
      agent: bedrockEndpoint(agentUrl, region, provider, extra),
      apiBase: endpoint.origin + endpoint.basePath,
      source,
      modelId: modelIdOf(spec.model),
    };
  },
  describe: (s) => ({ api_base: s.apiBase }),
  async buildRequest(s, call) {
    const modelId = modelIdOf(call.model);
    if (call.kind === 'rerank') {
      const path = `${s.agent.basePath}/rerank`;
      return signedPost(s.agent, s.label, path, rerankBody(call.body, s.region, modelId), 'application/json');
    }
    if (call.kind === 'image_generation') {
      const path = modelPath(s.endpoint, modelId, 'invoke');
      return signedPost(s.endpoint, s.label, path, imageBody(modelId, call.body), 'application/json');
    }
    if (call.kind === 'embedding') {
      return signedPost(
        s.endpoint,
        s.label,
        modelPath(s.endpoint, modelId, 'invoke'),
        embedBody(modelId, call.body),
        'application/json',
      );
    }
    const request = await converseBody(call.body, call.signal);
    const op = call.stream ? 'converse-stream' : 'converse';
    return signedPost(
      s.endpoint,
      s.label,
      modelPath(s.endpoint, modelId, op),
      JSON.stringify(request),
      call.stream ? 'application/vnd.amazon.eventstream' : 'application/json',
    );
  },
  parseResponse(s, call, json) {
    const modelId = modelIdOf(call.model);
    if (call.kind === 'rerank') return parseRerankAnswer(s.label, call, json);
    if (call.kind === 'image_generation') return parseImageAnswer(s.label, call, modelId, json);
    if (call.kind === 'embedding') return parseEmbedding(s.label, modelId, call.body, json);
    return parseConverse(s.label, call.model, json, jsonMode(call));
  },
  streamDecoder: (s, call) => new ConverseStreamDecoder(s.label, call.model, jsonMode(call)),
  mapError: (s, err) => (err.status >= 400 ? mapBedrockError(s.label, err) : mapHttpError(s.label, err)),
  // Claude through InvokeModel speaks the Messages API (model in the URL, betas and version in the body)
  messages: {
    accepts: (_s, model) => ANTHROPIC_ID.test(modelIdOf(model)),
    request(s, call) {
      const op = call.stream ? 'invoke-with-response-stream' : 'invoke';
      const body = JSON.stringify(cloudBody(call, BEDROCK_VERSION, false, true));
      const accept = call.stream ? 'application/vnd.amazon.eventstream' : 'application/json';
      return signedPost(s.endpoint, s.label, modelPath(s.endpoint, modelIdOf(call.model), op), body, accept);
    },
    view: (s, model, json) => nativeView(s.label, model, json),
    decoder: (s, model) => new NativeStreamDecoder(s.label, model, invokeStreamText(s.label)),
    // CountTokens takes the InvokeModel body, base64-encoded, and answers {"inputTokens": n}
    countTokens(s, call) {
      const invoke = JSON.stringify(cloudBody(call, BEDROCK_VERSION, false, true));
      const body = JSON.stringify({ input: { invokeModel: { body: Buffer.from(invoke).toString('base64') } } });
      // CountTokens takes the foundation model's own id: a cross-region profile's prefix is dropped
      const id = modelIdOf(call.model).replace(/^(?:us|eu|apac|global|us-gov|jp|au)\.(?=anthropic\.)/, '');
      const path = modelPath(s.endpoint, id, 'count-tokens');
      return signedPost(s.endpoint, s.label, path, body, 'application/json');
    },
    readCount,
  },
  healthRequest(s) {
    // a rerank model: one query over one document (converse would refuse it)
    if (/\.rerank-/.test(s.modelId)) {
      const ping = { query: 'ping', documents: ['ping'], top_n: 1 };
      return signedPost(
        s.agent,
        s.label,
        `${s.agent.basePath}/rerank`,
        rerankBody(ping, s.region, s.modelId),
        'application/json',
      );
    }
    if (embedFamily(s.modelId)) {
      return signedPost(
        s.endpoint,
        s.label,
        modelPath(s.endpoint, s.modelId, 'invoke'),
        embedBody(s.modelId, { input: 'ping' }),
        'application/json',
      );
    }
    const body = { messages: [{ role: 'user', content: [{ text: 'ping' }] }], inferenceConfig: { maxTokens: 1 } };
    return signedPost(
      s.endpoint,
      s.label,
      modelPath(s.endpoint, s.modelId, 'converse'),
      JSON.stringify(body),
      'application/json',
    );
  },
});
