import { maskText } from '../../config/litellm/secrets.js';
import type { EngineContext } from '../context.js';
import type { Deployment } from '../deployment.js';
import { GatewayError } from '../errors.js';
import { type Exchange, failureOf } from '../upstream/client.js';

const HEALTH_TIMEOUT_MS = 10_000;

interface Endpoint {
  model: string;
  model_name: string;
  model_id: string;
  api_base?: string;
  error?: string;
}

/**
 * GET /health: one cheap call per deployment (in parallel); lists healthy and unhealthy endpoints, never keys.
 * With background health checks on, the last results are served instead (as LiteLLM does).
 */
export async function healthReport(ctx: EngineContext): Promise<Record<string, unknown>> {
  if (ctx.health) return ctx.health.report();
  const deployments = ctx.table.deployments;
  const results = await Promise.all(deployments.map((d) => checkOne(ctx, d)));
  return reportOf(ctx, deployments, results);
}

/** The /health body for `deployments` and their check results (an error message, or undefined: healthy). */
export function reportOf(
  ctx: EngineContext,
  deployments: readonly Deployment[],
  results: readonly (string | undefined)[],
): Record<string, unknown> {
  const healthy: Endpoint[] = [];
  const unhealthy: Endpoint[] = [];
  for (const [i, err] of results.entries()) {
    const d = deployments[i];
    const e: Endpoint = { model: d.litellmModel, model_name: d.modelName, model_id: d.id };
    if (d.apiBase) e.api_base = d.apiBase;
    if (err === undefined) healthy.push(e);
    else unhealthy.push({ ...e, error: maskText(err, ctx.secretValues) });
  }
  const report: Record<string, unknown> = {
    healthy_endpoints: healthy,
    unhealthy_endpoints: unhealthy,
    healthy_count: healthy.length,
    unhealthy_count: unhealthy.length,
    // one of `--num_workers N`: which one answered
    ...(ctx.cluster && { worker: { id: ctx.cluster.id, pid: process.pid } }),
  };
  // the shared state's Redis: connected, or local-only (limits and cooldowns per engine meanwhile); no password
  if (ctx.redis) report.redis = ctx.redis.health();
  return report;
}

/** One deployment's check: undefined when healthy, else why not (the message /health shows). */
export async function checkOne(ctx: EngineContext, d: Deployment): Promise<string | undefined> {
  const r = await probe(ctx, d);
  return r === undefined ? undefined : r.error;
}

/**
 * A check's failure; `unchecked`: the deployment could not be checked at all (a wildcard without
 * model_info.health_check_model), which background checks do not count against it.
 */
export interface ProbeFailure {
  error: string;
  unchecked?: true;
}

/** One cheap call to the deployment's provider (a model list or a one-token call, per adapter). */
export async function probe(ctx: EngineContext, d: Deployment): Promise<ProbeFailure | undefined> {
  if (d.mockResponse !== undefined || !d.adapter) return undefined;
  const timeout = Math.min(d.timeoutMs, HEALTH_TIMEOUT_MS);
  let timedOut = false;
  let ex: Exchange | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    ex?.abort(new Error('deadline passed'));
  }, timeout);
  try {
    const req = await d.adapter.healthRequest(d.healthState ?? d.state);
    // a per-model check of a wildcard deployment would ask the provider about a model named "*"
    if (d.healthState === undefined && d.model.includes('*') && req.path.includes('*')) {
      return {
        error:
          `wildcard deployment: ${d.adapter.label} has no model-independent check; ` +
          'set model_info.health_check_model to a concrete model ' +
          `(e.g. ${d.litellmModel.replace('*', 'some-model')}) to check it`,
        unchecked: true,
      };
    }
    ex = ctx.client.send(req, { headersTimeout: timeout, bodyTimeout: timeout, mode: 'whole', limit: 65536 });
    const res = await ex.whole!;
    if (res.status >= 400) {
      const body = res.body.toString('utf8');
      return { error: d.adapter.mapError(d.state, { status: res.status, headers: res.headers, body }).message };
    }
    return undefined;
  } catch (e) {
    return { error: (e instanceof GatewayError ? e : failureOf(e, d.adapter.label, timedOut, timeout)).message };
  } finally {
    clearTimeout(timer);
  }
}
