/**
 * The attempt seam as the router sees it: what it hands an attempt (the request), what it gets back
 * (the outcome), and the runner it calls (upstream/attempt.ts in production, fakes in unit tests).
 */

import type { Principal } from '../auth/principal.js';
import type { Deployment, ModelGroup } from '../deployment.js';
import type { GatewayError } from '../errors.js';
import type { ClientLink } from '../http/client-link.js';
import type { AttemptResult } from '../upstream/result.js';
import type { EndpointKind, JsonObject, OpenAIChunk, OpenAIResponse, StreamDecoder } from '../wire.js';
import type { RouterDeps } from './dispatch.js';

/** A request as the router sees it (the client's body is parsed once, never copied on the way in). */
export interface RouteRequest {
  kind: EndpointKind;
  /** the client's body, as parsed */
  body: JsonObject;
  /** the model name the client asked for */
  model: string;
  stream: boolean;
  requestId: string;
  /** the client: `gone` (and its lazy `signal` aborted) when it went away */
  client: ClientLink;
  /** who is calling (authentication's answer) */
  principal: Principal;
  /** every attempt made for this request pushes its result here when it settles (read by the settled event) */
  attempts?: AttemptResult[];
  /**
   * An API some adapters serve natively (the Responses API): a deployment whose adapter does gets `native`'s
   * body and reading; every other one gets `body` (its chat translation), or fails with `native.error`
   */
  native?: NativeCall;
  /** set by /v1/messages: the client's Anthropic request, sent as written where a deployment speaks it */
  nativeMessages?: NativeMessagesRequest;
}

/** The native form of a translated request: the API's own body, and how its answer and stream are read. */
export interface NativeCall {
  api: 'responses';
  body: JsonObject;
  /** check a whole answer (already JSON.parsed) */
  parse(label: string, json: unknown): OpenAIResponse;
  decoder(label: string): StreamDecoder;
  /** fix the upstream body after config defaults merged in (chat-named defaults such as `max_tokens`) */
  adjust?(body: JsonObject): void;
  /** why the chat translation cannot carry this request (a built-in tool, say): translated attempts fail with it */
  error?: GatewayError;
}

/** An Anthropic Messages request, for the deployments that take it untranslated (`adapter.messages`). */
export interface NativeMessagesRequest {
  /** the client's body as parsed */
  body: JsonObject;
  /** the client's `anthropic-beta` / `anthropic-version` headers */
  beta?: string;
  version?: string;
  /** what the OpenAI translation cannot carry (a server tool, ...): a translated deployment fails with it */
  untranslatable?: GatewayError;
}

/** What a successful attempt gives back: a whole answer, or a stream whose first token arrived. */
export type Outcome =
  /** `raw`, when set, is exactly what the client gets; `response` is then its parsed view, made on first read */
  | {
      type: 'json';
      deployment: Deployment;
      response: OpenAIResponse;
      raw?: Buffer;
      /** the answer's content-type when it is not JSON (a transcription as text) */
      contentType?: string;
      upstreamMs: number;
      headers?: UpstreamHeaders;
      /**
       * the deployment answered in the request's native API, not in chat: the Responses API's own answer
       * (RouteRequest.native), or the upstream's own Messages JSON in `raw` (RouteRequest.nativeMessages)
       */
      native?: boolean;
    }
  | {
      type: 'stream';
      deployment: Deployment;
      chunks: AsyncIterable<OpenAIChunk[]> | Iterable<OpenAIChunk[]>;
      upstreamMs: number;
      headers?: UpstreamHeaders;
      /** the chunks are in the request's native API (the Responses API's, or Anthropic SSE under RAW_TEXT) */
      native?: boolean;
    };

/** The upstream's response headers (lower-case names; the writer echoes its `x-ratelimit-*`). */
export type UpstreamHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Runs one attempt of `req` against `dep` (a deployment of `group`; `captures` fill a wildcard's `*`).
 * Resolves with the outcome or rejects with the failure; either way the attempt settles exactly once
 * (RouterState bookkeeping, `req.attempts`), a stream when it ends.
 */
export type AttemptRunner = (
  deps: RouterDeps,
  dep: Deployment,
  group: ModelGroup,
  req: RouteRequest,
  captures: string[] | undefined,
) => Promise<Outcome>;
