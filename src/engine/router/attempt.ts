/**
 * The attempt seam as the router sees it: what it hands an attempt (the request), what it gets back
 * (the outcome), and the runner it calls (upstream/attempt.ts in production, fakes in unit tests).
 */

import type { Principal } from '../auth/principal.js';
import type { Deployment, ModelGroup } from '../deployment.js';
import type { ClientLink } from '../http/client-link.js';
import type { AttemptResult } from '../upstream/result.js';
import type { EndpointKind, JsonObject, OpenAIChunk, OpenAIResponse } from '../wire.js';
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
    }
  | {
      type: 'stream';
      deployment: Deployment;
      chunks: AsyncIterable<OpenAIChunk[]> | Iterable<OpenAIChunk[]>;
      upstreamMs: number;
      headers?: UpstreamHeaders;
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
