/**
 * One metered pass-through call (meter.ts says which calls are): admitted like any inference call (a virtual
 * key's model access, budgets and rate limits), its answer's usage read as it goes back, and settled with one
 * event, as the engine's own endpoints settle theirs: spend logs, budgets, metrics, traces and the worker's
 * usage count it. Its event names the path as called (`passThrough`) and a deployment that stands for the
 * provider the route went to (no model_list entry: id '', the model as its group, the target as api_base).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { EngineContext } from '../context.js';
import { deploymentPrice } from '../cost/cost.js';
import type { Deployment } from '../deployment.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { AdmitTicket } from '../governance/types.js';
import { admitTicket, emitSettled, type ResponseWriter, takeCallHeaders } from '../http/response-writer.js';
import { redactError } from '../observability/logger.js';
import type { SettledEndpoint, SettledEvent } from '../observability/settled.js';
import type { SettledSource } from '../observability/settled-event.js';
import type { RouteTable } from '../router/table.js';
import type { AttemptResult } from '../upstream/result.js';
import type { JsonObject } from '../wire.js';
import { first, loadMeterCodecs, type MeteredCall, meteredCall, UsageTap } from './meter.js';
import type { PassThroughMatch, PassThroughRoute } from './routes.js';

type UpstreamHeaders = Readonly<Record<string, string | string[] | undefined>>;

// per route table (an engine's, replaced by the model API), the deployments standing for pass-through targets,
// by route, model and origin (clients choose the models: bounded)
const standInsOf = new WeakMap<RouteTable, Map<string, Deployment>>();
const MAX_STAND_INS = 1000;

export class MeteredPassThrough implements SettledSource {
  readonly requestId: string;
  readonly principal: Principal;
  readonly endpoint: SettledEndpoint;
  readonly body: JsonObject;
  readonly stream: boolean;
  readonly t0: number;
  readonly attempts: AttemptResult[] = [];
  readonly passThrough: string;
  traceparent?: string;
  headerTags?: string;
  spendLogsHeader?: string;
  redact?: boolean;
  firstTokenAt?: number;
  streamText?: string;
  private ticket?: AdmitTicket;
  private tap?: UsageTap;
  private start = 0;
  private firstByte?: number;
  /** what the target says the call cost (`x-litellm-response-cost`): recorded as is */
  private reportedCost?: number;
  private settled = false;

  private readonly route: PassThroughRoute;
  /** where the call went (Vertex AI's host depends on the location in the path) */
  private readonly origin: string;

  constructor(
    private readonly ctx: EngineContext,
    private readonly w: ResponseWriter,
    to: { route: PassThroughRoute; origin: string; path: string },
    private readonly call: MeteredCall,
    body: JsonObject,
    headers: IncomingHttpHeaders,
  ) {
    this.route = to.route;
    this.origin = to.origin;
    this.requestId = w.requestId;
    this.principal = w.principal;
    this.endpoint = call.endpoint;
    // the model the call names, where the event and the spend log read it (Bedrock and Vertex put it in the path)
    this.body = body.model === call.model ? body : { ...body, model: call.model };
    this.stream = call.stream;
    this.t0 = w.t0;
    this.passThrough = to.path;
    takeCallHeaders(this, headers, ctx.settled.trace);
    ctx.settling++;
  }

  /** Admission (a refusal settles the call as failed, then throws); the ticket's headers for the answer. */
  async admit(headers: IncomingHttpHeaders): Promise<Readonly<Record<string, string | number>> | undefined> {
    try {
      this.ticket = await admitTicket(this.ctx, this.principal, this.endpoint, this.call.model, this.body, headers);
      if (this.call.format === 'converse' || this.call.format === 'invoke') await loadMeterCodecs();
    } catch (e) {
      this.fail(e);
      throw e;
    }
    return this.ticket?.headers;
  }

  /** The request is about to go upstream. */
  sending(): void {
    this.start = performance.now();
  }

  /** The upstream answered (`status`, headers): start reading a success's usage. */
  answered(status: number, headers: UpstreamHeaders): void {
    this.firstByte = performance.now();
    const reported = first(headers['x-litellm-response-cost']);
    const cost = Number(reported);
    if (reported !== undefined && Number.isFinite(cost) && cost >= 0) this.reportedCost = cost;
    if (status >= 200 && status < 300) {
      const ct = first(headers['content-type']);
      const text = this.ctx.settled.content && this.redact !== true;
      this.tap = new UsageTap(this.call.format, ct, text, headers);
    }
  }

  /** Bytes of the answer, as they go to the client. */
  push(b: Buffer): void {
    this.firstTokenAt ??= performance.now();
    this.tap?.push(b);
  }

  /** The answer went out whole (`success`), or the client left before its end. */
  done(status: 'success' | 'client_abort', httpStatus: number): void {
    this.settle(status, httpStatus);
  }

  /** The upstream answered an error status: `body` is its error, whole. */
  upstreamError(status: number, body: Buffer): void {
    const err = new GatewayError(status, {
      message: errorText(this.route.label, status, body),
      provider: this.route.label,
    });
    this.settle('failure', status, redactError(err, this.ctx.secretValues));
  }

  /** Failed before an answer (refused, unreachable upstream, credentials) or after it started (`httpStatus`). */
  fail(e: unknown, httpStatus?: number): void {
    if (this.settled) return;
    const err = redactError(toGatewayError(e), this.ctx.secretValues);
    if (this.w.res.destroyed && httpStatus === undefined) this.settle('client_abort', 499);
    else this.settle('failure', httpStatus ?? err.status, err);
  }

  private settle(status: SettledEvent['status'], httpStatus: number, err?: GatewayError): void {
    if (this.settled) return;
    this.settled = true;
    this.ctx.settling--;
    const tap = this.tap;
    tap?.end();
    if (this.start > 0) {
      const model = (this.call.provider === 'azure' && tap?.model) || this.call.model;
      const end = performance.now();
      this.attempts.push({
        deployment: this.standIn(model),
        status: status === 'success' ? 'ok' : status === 'client_abort' ? 'client_abort' : 'error',
        stream: this.stream,
        error: err,
        errorClass: err?.errorClass,
        usage: tap?.usage,
        timings: { start: this.start, firstByte: this.firstByte, firstToken: this.firstTokenAt, end },
      });
    }
    if (tap?.text !== undefined) this.streamText = tap.text;
    const reported = this.reportedCost;
    emitSettled(
      this.ctx,
      this,
      this.ticket,
      status,
      httpStatus,
      err,
      (x) => this.w.logFields(x),
      reported === undefined
        ? undefined
        : (e) => {
            e.responseCost = reported;
            e.unpriced = undefined;
          },
    );
  }

  /** The deployment standing for this route's target and `model` (its price from the map, looked up once). */
  private standIn(model: string): Deployment {
    const r = this.route;
    const provider = this.call.provider;
    const origin = this.origin;
    const key = `${r.prefix}\u0001${model}\u0001${origin}`;
    const table = this.ctx.table;
    let standIns = standInsOf.get(table);
    if (standIns === undefined) standInsOf.set(table, (standIns = new Map()));
    let d = standIns.get(key);
    if (d === undefined) {
      const litellmModel = provider === undefined ? model : `${provider}/${model}`;
      // a model_list entry for the same model prices it (its model_info / litellm_params costs included), as
      // LiteLLM's custom prices apply to the model wherever it is called; else the map's price
      const same = table.deployments.find(
        (x) => x.price && (x.litellmModel === litellmModel || (x.provider === provider && x.model === model)),
      );
      const price =
        same?.price ?? deploymentPrice(this.ctx.prices, { litellmModel, provider, model, info: {}, params: {} });
      d = {
        id: '',
        modelName: model,
        litellmModel,
        at: r.prefix,
        provider,
        state: undefined,
        model,
        weight: 1,
        timeoutMs: 600_000,
        streamTimeoutMs: 600_000,
        dropParams: false,
        additionalDropParams: [],
        apiBase: origin || undefined,
        publicInfo: {},
        cost: Number.POSITIVE_INFINITY,
        price: price ?? null,
        encoding: 'o200k_base',
      };
      if (!price) {
        this.ctx.logger.warn(
          { route: r.prefix, model: litellmModel },
          'pass-through model not in the price map: its calls are reported unpriced (cost 0)',
        );
      }
      if (standIns.size >= MAX_STAND_INS) standIns.clear();
      standIns.set(key, d);
    }
    return d;
  }
}

/** The provider's own error message when its body has one (`error.message`, `message`), else the status. */
function errorText(label: string, status: number, body: Buffer): string {
  try {
    const o = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof o.error === 'object' ? o.error?.message : (o.error ?? o.message);
    if (typeof m === 'string' && m !== '') return `${label}: ${m}`;
  } catch {
    // not JSON
  }
  return `${label} answered ${status}`;
}

/**
 * The metered call this request is (an inference call on a route the engine can read), or undefined. The caller
 * loads this module only for a POST with a body (meteredCall says which of those are inference calls).
 */
export function meterOf(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  m: PassThroughMatch,
  origin: string,
  body: Buffer,
): MeteredPassThrough | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined; // not JSON: forwarded as it is, unmetered
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const json = parsed as JsonObject;
  const call = meteredCall(m.route.provider, req.method?.toUpperCase() ?? 'GET', m.rest, json);
  if (!call) return undefined;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return new MeteredPassThrough(ctx, w, { route: m.route, origin, path }, call, json, req.headers);
}
