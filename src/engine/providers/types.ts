/**
 * The provider adapter contract (see docs/engine-providers.md). An adapter turns an OpenAI-format
 * request into its provider's wire format and the answer back, and nothing else: the engine owns
 * the HTTP client (one undici pool per origin), timeouts, aborts, routing and the client response.
 */
import type { GatewayError } from '../errors.js';
import type { EndpointKind, JsonObject, OpenAIResponse, StreamDecoder, UpstreamRequest } from '../wire.js';
import type { ProviderId } from './registry.js';

export type {
  EndpointKind,
  JsonObject,
  OpenAIChunk,
  OpenAIResponse,
  StreamDecoder,
  UpstreamRequest,
  Usage,
} from '../wire.js';
export { ENDPOINT_KINDS } from '../wire.js';

// ids come from the provider folders' facts: one folder plus one line in registry.ts per provider
export type { ProviderId } from './registry.js';

/** One deployment's config as the adapter sees it at load time (secrets already resolved). */
export interface DeploymentSpec {
  /** the group name clients ask for (`model_name`) */
  modelName: string;
  /** the provider this deployment goes to */
  provider: ProviderId;
  /** the model name after the provider prefix (`llama3` in `groq/llama3`); `*` parts for wildcards */
  model: string;
  /** litellm_params with references resolved (api_key, api_base, api_version, extra_headers, ...) */
  params: Readonly<Record<string, unknown>>;
  /** model_info as written */
  info: Readonly<Record<string, unknown>>;
  /** the environment provider defaults come from (process env + config `environment_variables`) */
  env: Readonly<Record<string, string | undefined>>;
  /** key path for messages, e.g. `model_list[2]` */
  at: string;
  /** report a load-time warning about this deployment (shown by `proxy validate` and at start-up) */
  warn?: (message: string) => void;
}

/** A request in flight, as handed to the adapter. */
export interface CallContext {
  kind: EndpointKind;
  /** the OpenAI-format body after config defaults, alias/wildcard resolution and drop_params */
  body: JsonObject;
  /** the upstream model name (wildcards substituted), e.g. `llama3` */
  model: string;
  stream: boolean;
  /** aborted when the client goes away or the deployment's timeout passes */
  signal: AbortSignal;
  requestId: string;
}

/** An upstream answered with an error status: what the adapter gets to map it. */
export interface UpstreamErrorInfo {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** the body as text (truncated to 64 KiB) */
  body: string;
}

/** An Anthropic Messages request as the client sent it, for a deployment that speaks that API itself. */
export interface MessagesCall {
  /** the client's body with `model` set to the upstream model and the engine's own keys removed */
  body: JsonObject;
  /** the upstream model name (wildcards substituted) */
  model: string;
  stream: boolean;
  /** the client's `anthropic-beta` and `anthropic-version` headers, when sent */
  beta?: string;
  version?: string;
}

/**
 * Anthropic's Messages API spoken natively (Anthropic itself, Claude on Bedrock and on Vertex AI): the
 * client's request goes upstream as written (server tools, thinking signatures, cache_control, betas),
 * and the answer comes back as the upstream wrote it.
 */
export interface NativeMessages<S = unknown> {
  /** Whether this deployment's model takes Messages requests (Bedrock: Anthropic models only). */
  accepts(state: S, model: string): boolean;
  /** The upstream request for POST /v1/messages. */
  request(state: S, call: MessagesCall): UpstreamRequest | Promise<UpstreamRequest>;
  /** The OpenAI view of a whole answer (usage, logs); the client gets the upstream's bytes. */
  view(state: S, model: string, json: unknown): OpenAIResponse;
  /**
   * A fresh decoder for one stream: OpenAI chunks out (usage, logs), each batch carrying the Anthropic SSE
   * text the client gets under RAW_TEXT (anthropic/native.ts builds one).
   */
  decoder(state: S, model: string): StreamDecoder;
  /** The upstream request for POST /v1/messages/count_tokens, and how to read its answer. */
  countTokens?(state: S, call: MessagesCall): UpstreamRequest | Promise<UpstreamRequest>;
  readCount?(json: unknown): number | undefined;
}

/**
 * A provider adapter. `S` is whatever the adapter precomputes per deployment at load time
 * (base URL, origin, static headers, credentials, signer): requests must not redo that work.
 */
export interface ProviderAdapter<S = unknown> {
  id: ProviderId;
  /** human name for messages, e.g. `Groq` */
  label: string;
  /** endpoint kinds it serves; others get a 400 naming the provider */
  endpoints: readonly EndpointKind[];
  /** OpenAI params this provider does not take: 400 unless drop_params, then silently dropped */
  unsupportedParams?: readonly string[];
  /** Load time: validate and precompute. Throw an Error whose message names the key to fix. */
  prepare(spec: DeploymentSpec): S;
  /** Where requests go, without secrets (shown in /v1/model/info and /health). */
  describe(state: S): { api_base?: string };
  /** Build the upstream request. May be async (SigV4 signing, OAuth token fetch). */
  buildRequest(state: S, call: CallContext): UpstreamRequest | Promise<UpstreamRequest>;
  /** Translate a successful non-stream answer (already JSON.parsed) to OpenAI shape; include usage. */
  parseResponse(state: S, call: CallContext, json: unknown): OpenAIResponse;
  /**
   * Optional fast path for providers whose answers are already OpenAI-shaped: true when the raw body
   * can go to the client byte for byte (complete JSON object with usage). The engine then skips
   * JSON.parse / parseResponse / JSON.stringify, and parses lazily only if something reads `response`.
   */
  passthrough?(state: S, call: CallContext, body: Buffer): boolean;
  /** A fresh decoder for one stream. */
  streamDecoder(state: S, call: CallContext): StreamDecoder;
  /** Map an error answer to a GatewayError; `mapHttpError` from ../provider-errors.ts does the common part. */
  mapError(state: S, err: UpstreamErrorInfo): GatewayError;
  /** A cheap request that proves the deployment answers (listing models, a 1-token call, ...). */
  healthRequest(state: S): UpstreamRequest | Promise<UpstreamRequest>;
  /**
   * Set by adapters whose upstream serves OpenAI's Responses API itself (`/v1/responses`): the request for a
   * Responses body (`call.body`); answers and errors are read as OpenAI's. Others get it translated to chat.
   */
  responses?: { buildRequest(state: S, call: CallContext): UpstreamRequest | Promise<UpstreamRequest> };
  /** Anthropic Messages without translation (see NativeMessages); absent: /v1/messages is translated. */
  messages?: NativeMessages<S>;
}

/** Type-erase an adapter for the registry (keeps `any` out of public signatures). */
export function defineProvider<S>(adapter: ProviderAdapter<S>): ProviderAdapter {
  return adapter as unknown as ProviderAdapter;
}
