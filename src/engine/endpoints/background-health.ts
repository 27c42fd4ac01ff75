/**
 * Background health checks (`general_settings.background_health_checks: true`, every
 * `health_check_interval` seconds, default 300): every deployment gets the same cheap check GET /health makes,
 * off the request path, one run at a time. The last results answer GET /health (no live calls, as LiteLLM
 * does with background checks on) and feed `litellm_deployment_state`; a deployment whose check fails is out
 * of rotation (`Deployment.down`: routing skips it unless its whole group is down) until a check passes again.
 */
import { maskText } from '../../config/litellm/secrets.js';
import type { EngineContext } from '../context.js';
import type { Deployment } from '../deployment.js';
import type { RouteTable } from '../router/table.js';
import { probe, reportOf } from './health.js';

/** general_settings.health_check_interval's default (LiteLLM's), in seconds. */
export const DEFAULT_HEALTH_CHECK_INTERVAL_S = 300;

export class BackgroundHealth {
  /** deployment id -> the last check's error (undefined: healthy) */
  private readonly last = new Map<string, string | undefined>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** a run was asked for while one was going (the table changed): run again right after */
  private again = false;
  private closed = false;
  /** completed runs (tests and logs) */
  runs = 0;

  constructor(
    private readonly ctx: EngineContext,
    private readonly intervalMs: number,
  ) {}

  /** The first run now (not awaited: serving starts at once), then one every interval after the last ended. */
  start(): void {
    this.kick();
  }

  /** The route table changed (the model API): check the new deployments soon rather than at the next interval. */
  tableChanged(_table: RouteTable): void {
    this.kick();
  }

  /** Whether a deployment is out of rotation by its checks. */
  isDown(d: Deployment): boolean {
    return d.down === true;
  }

  /** The /health body from the last results; deployments not checked yet are listed as healthy until they are. */
  report(): Record<string, unknown> {
    const deployments = this.ctx.table.deployments;
    return reportOf(
      this.ctx,
      deployments,
      deployments.map((d) => this.last.get(d.id)),
    );
  }

  /** Stop: no run starts after this; one running ends on its own and its results are dropped. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  get intervalS(): number {
    return this.intervalMs / 1000;
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      this.timer = setTimeout(() => this.kick(), this.intervalMs);
      this.timer.unref();
    });
  }

  private async run(): Promise<void> {
    const deployments = this.ctx.table.deployments;
    const results = await Promise.all(
      deployments.map((d) =>
        probe(this.ctx, d).catch((e: unknown) => ({ error: (e as Error).message, unchecked: undefined })),
      ),
    );
    if (this.closed) return;
    for (const [i, d] of deployments.entries()) {
      const r = results[i];
      this.last.set(d.id, r?.error);
      // a deployment that could not be checked at all stays in rotation
      const down = r !== undefined && r.unchecked !== true;
      if (down !== (d.down === true)) {
        d.down = down || undefined;
        const fields = { model_name: d.modelName, model_id: d.id };
        if (down) {
          const error = maskText(r.error, this.ctx.secretValues);
          this.ctx.logger.warn({ ...fields, error }, 'deployment failed its health check: out of rotation');
        } else this.ctx.logger.info(fields, 'deployment passed its health check: back in rotation');
      }
    }
    // ids no longer served are forgotten
    const ids = new Set(deployments.map((d) => d.id));
    for (const id of this.last.keys()) if (!ids.has(id)) this.last.delete(id);
    this.runs++;
  }
}
