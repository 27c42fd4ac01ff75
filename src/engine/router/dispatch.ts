import type { Deployment, ModelGroup } from '../deployment.js';
import { type ErrorClass, GatewayError, toGatewayError } from '../errors.js';
import { OTHER_LITELLM_PROVIDERS } from '../providers/unsupported.js';
import type { RouterState, StateView } from '../state/router-state.js';
import { runAttempt } from '../upstream/attempt.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { JsonObject } from '../wire.js';
import type { AttemptRunner, Outcome, RouteRequest } from './attempt.js';
import { available, noDeployment, noExclusions, type RequestFilter } from './candidates.js';
import { fallbackChain } from './fallbacks.js';
import { countPromptTokens } from './pre-call.js';
import { type Resolved, resolveModel, unknownModel } from './resolve.js';
import { retriesFor, retryDelayMs, sleep } from './retry.js';
import type { RouteTable } from './table.js';

/** What the router works with (an EngineContext is one). */
export interface RouterDeps {
  table: RouteTable;
  client: UpstreamClient;
  /** usage windows, cooldowns, latency, in flight (state/memory.ts unless the engine was given another) */
  state: RouterState;
  /** runs one attempt: the real upstream call (upstream/attempt.ts) unless a test passes fakes */
  attempt?: AttemptRunner;
}

/** The answer, and what the router did to get it (the `x-litellm-attempted-*` headers). */
export type RoutedOutcome = Outcome & {
  /** retries within the group that answered */
  attemptedRetries?: number;
  /** fallback groups tried (the one that answered included) */
  attemptedFallbacks?: number;
};

/** Per-request routing state, made once per request. */
interface Plan {
  /** the route table the request started with (a model API change swaps the engine's; this one stays) */
  table: RouteTable;
  filter: RequestFilter;
  requestRetries?: number;
  /** set by a group that could not even try (all cooling / at limits): the soonest comeback across the chain */
  soonestS?: number;
}

/**
 * The one entry from endpoints to upstreams: resolve the group, pick a deployment with the strategy,
 * attempt it; on failure retry in the group (another healthy deployment first, with backoff when
 * none), then walk the fallback chain, each group with its own retries. Cooldowns, rpm/tpm limits,
 * tags and context windows narrow the picks. A stream counts as answered once its first chunks
 * decoded, so a stream that breaks before that is retried or falls back like any failure.
 */
export async function dispatch(deps: RouterDeps, req: RouteRequest): Promise<RoutedOutcome> {
  const table = deps.table;
  const resolved = resolveModel(table, req.model);
  if (!resolved) throw unknownModel(table, req.model);
  if (resolved.captures) unsupportedThroughWildcard(req.model, resolved.captures);
  const s = table.settings;
  const body = req.body;
  const plan: Plan = { table, filter: { now: 0 } };
  if (s.tagFiltering) plan.filter.tags = requestTags(body) ?? [];
  const nr = body.num_retries;
  if (typeof nr === 'number' && nr >= 0) plan.requestRetries = Math.floor(nr);
  if (s.preCallChecks && req.kind !== 'embedding') {
    const d = resolved.group.deployments[0];
    plan.filter.promptTokens = await countPromptTokens(req.kind, body, d.encoding);
  }

  let err: GatewayError;
  try {
    return await runGroup(deps, resolved, req, plan, mockFailureOf(body, resolved.group.deployments[0]));
  } catch (e) {
    err = toGatewayError(e);
  }
  const names = resolved.group.name === req.model ? [req.model] : [req.model, resolved.group.name];
  const chain = req.client.gone ? [] : fallbackChain(s, names, err, body);
  const visited = new Set<string>([resolved.group.name]);
  let tried = 0;
  let last = err;
  for (const target of chain) {
    if (tried >= s.maxFallbacks || req.client.gone) break;
    const r = resolveModel(table, target.model);
    if (!r || visited.has(r.group.name)) continue; // never loop back to a group already tried
    visited.add(r.group.name);
    tried++;
    const fr: RouteRequest = target.overrides ? { ...req, body: { ...body, ...target.overrides } } : req;
    try {
      const out = await runGroup(deps, r, fr, plan, undefined);
      out.attemptedFallbacks = tried;
      return out;
    } catch (e) {
      last = toGatewayError(e);
    }
  }
  throw finalError(last, err, resolved.group.name, tried, plan);
}

/**
 * A name a wildcard matched whose provider prefix is one LiteLLM knows and this engine does not serve
 * (`sagemaker/my-endpoint` through a `*` deployment): a 400 naming the provider, never a silent call to
 * whatever provider the wildcard's deployment uses.
 */
function unsupportedThroughWildcard(model: string, captures: string[]): void {
  const slash = model.indexOf('/');
  if (slash <= 0) return;
  const provider = model.slice(0, slash);
  // only when the `*` swallowed the prefix: a configured `vllm/*` names its provider itself
  if (!OTHER_LITELLM_PROVIDERS.has(provider) || !captures[0]?.startsWith(`${provider}/`)) return;
  throw new GatewayError(400, {
    message:
      `model=${model} names the provider "${provider}", which this engine does not serve yet ` +
      '(see docs/providers.md for the ones it does); it was not sent to the wildcard deployment.',
    param: 'model',
    code: 'unsupported_provider',
    errorClass: 'bad_request',
  });
}

/** A failure the request asks for (LiteLLM's test hooks), thrown by the first group only, after `waitMs`. */
interface MockFailure {
  error: GatewayError;
  waitMs: number;
}

const mockError = (status: number, errorClass: ErrorClass, code: string, message: string) =>
  new GatewayError(status, { message, errorClass, code, provider: 'mock' });

/**
 * LiteLLM's request-body test hooks: `mock_testing_fallbacks` (a 500), `mock_testing_context_fallbacks` (a
 * context window error: context_window_fallbacks), `mock_testing_content_policy_fallbacks` (content policy:
 * content_policy_fallbacks), `mock_testing_rate_limit_error` (a 429), `mock_timeout` (a 408 once the request's
 * `timeout` has passed, default 1 s). Only the requested group fails, so the fallbacks are what gets tested.
 */
function mockFailureOf(body: JsonObject, first: Deployment): MockFailure | undefined {
  const on = (k: string) => body[k] === true;
  if (on('mock_testing_fallbacks'))
    return {
      waitMs: 0,
      error: mockError(500, 'upstream', '500', 'mock_testing_fallbacks: this model group fails on purpose'),
    };
  if (on('mock_testing_context_fallbacks'))
    return {
      waitMs: 0,
      error: mockError(
        400,
        'context_window',
        'context_length_exceeded',
        'mock_testing_context_fallbacks: the context window is exceeded on purpose',
      ),
    };
  if (on('mock_testing_content_policy_fallbacks'))
    return {
      waitMs: 0,
      error: mockError(
        400,
        'content_policy',
        'content_policy_violation',
        'mock_testing_content_policy_fallbacks: a content policy violation on purpose',
      ),
    };
  if (on('mock_testing_rate_limit_error'))
    return {
      waitMs: 0,
      error: mockError(429, 'rate_limit', '429', 'mock_testing_rate_limit_error: a rate limit on purpose'),
    };
  if (on('mock_timeout')) {
    const t = typeof body.timeout === 'number' && body.timeout > 0 ? body.timeout : 1;
    const ms = Math.min(t, 600) * 1000;
    return {
      waitMs: ms,
      error: mockError(
        408,
        'timeout',
        'timeout',
        `mock_timeout: ${first.modelName} did not answer within the timeout (${ms / 1000}s)`,
      ),
    };
  }
  return undefined;
}

/** Tags of a request: body `tags`, else `metadata.tags`. */
function requestTags(body: JsonObject): string[] | undefined {
  const meta = body.metadata as JsonObject | undefined;
  const t = Array.isArray(body.tags)
    ? body.tags
    : meta && typeof meta === 'object' && Array.isArray(meta.tags)
      ? meta.tags
      : undefined;
  return t?.filter((x): x is string => typeof x === 'string');
}

/** Retries within one group. Throws the last failure (or why nothing could be tried). */
async function runGroup(
  deps: RouterDeps,
  resolved: Resolved,
  req: RouteRequest,
  plan: Plan,
  mockFail: MockFailure | undefined,
): Promise<RoutedOutcome> {
  const table = plan.table;
  const s = table.settings;
  const group = resolved.group;
  let tried: Set<Deployment> | undefined;
  let lastErr: GatewayError | undefined;
  let claimsLost = 0;
  for (let n = 0; ; n++) {
    plan.filter.tried = tried;
    const read = readState(deps.state, group, plan.filter);
    let view = read instanceof Promise ? await read : read;
    let list = available(table, group, view, plan.filter);
    if (list.length === 0 && tried) {
      plan.filter.tried = undefined; // every deployment failed once: another round over the healthy ones
      list = available(table, group, view, plan.filter);
    }
    if (list.length === 0) {
      if (lastErr) throw lastErr;
      const why = noExclusions();
      available(table, group, view, plan.filter, why);
      const e = noDeployment(group, why, plan.filter.promptTokens);
      if (e.retryAfter) plan.soonestS = Math.min(plan.soonestS ?? Infinity, Number(e.retryAfter));
      throw e;
    }
    const dep = s.strategy.choose(list, group, view);
    // a store shared between engines takes the deployment's rpm/tpm for real now (the read may be a moment old):
    // one that another engine just filled is read again and something else picked, not counted as a retry
    if (deps.state.claim && (dep.rpm !== undefined || dep.tpm !== undefined)) {
      const c = deps.state.claim(dep, plan.filter.now);
      if (!(c instanceof Promise ? await c : c)) {
        // the store shows a refused deployment at its limit in the next read: this ends; the bound is a guard
        if (++claimsLost > MAX_LOST_CLAIMS) throw lastErr ?? noDeployment(group, noExclusions());
        n--;
        continue;
      }
    }
    try {
      if (mockFail) {
        if (mockFail.waitMs > 0 && !(await sleep(mockFail.waitMs, req.client.signal))) throw mockFail.error;
        throw mockFail.error;
      }
      // the attempt settles itself: in flight, usage, latency and the failure count (cooldowns) are done
      const out: RoutedOutcome = await (deps.attempt ?? runAttempt)(deps, dep, group, req, resolved.captures);
      out.attemptedRetries = n;
      return out;
    } catch (e) {
      const err = toGatewayError(e);
      lastErr = err;
      if (req.client.gone || mockFail) throw err; // the client left, or a test hook failed the group: no retry
      const { retries, inPlace } = retriesFor(s, group.name, group.numRetries, plan.requestRetries, err.errorClass);
      if (n >= retries) throw err;
      (tried ??= new Set()).add(dep);
      plan.filter.tried = tried;
      const again = readState(deps.state, group, plan.filter);
      view = again instanceof Promise ? await again : again;
      const others = available(table, group, view, plan.filter).length > 0;
      if (!others && !inPlace) throw err;
      const wait = retryDelayMs(s, err, n + 1, others);
      if (wait < 0 || !(await sleep(wait, req.client.signal))) throw err;
    }
  }
}

/** Picks other engines may take from under one request before it gives up (a guard: see RouterState.claim). */
const MAX_LOST_CLAIMS = 8;

/** The state of a group's deployments now (awaited only when the store answers with a Promise). */
function readState(state: RouterState, group: ModelGroup, f: RequestFilter): StateView | Promise<StateView> {
  f.now = Date.now();
  return state.read(group, f.now);
}

/** The error the client gets when every try failed: the last failure, or a 429 with the soonest comeback. */
function finalError(
  last: GatewayError,
  first: GatewayError,
  group: string,
  fallbacks: number,
  plan: Plan,
): GatewayError {
  let e = last;
  if (
    e.errorClass === 'rate_limit' &&
    e.code === 'no_deployments_available' &&
    plan.soonestS !== undefined &&
    String(plan.soonestS) !== e.retryAfter
  ) {
    e = new GatewayError(429, {
      message: e.message,
      code: e.code,
      errorClass: 'rate_limit',
      retryAfter: String(plan.soonestS),
    });
  }
  if (fallbacks === 0) return e;
  const note =
    ` (model group "${group}" failed with: ${first.message}; ` +
    `${fallbacks} fallback${fallbacks === 1 ? '' : 's'} tried)`;
  return new GatewayError(e.status, {
    message: e.message + note,
    type: e.type,
    code: e.code,
    param: e.param,
    errorClass: e.errorClass,
    retryAfter: e.retryAfter,
    provider: e.provider,
  });
}
