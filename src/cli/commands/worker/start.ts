import type { KubiyaContext } from '../../../config/contexts/index.js';
import type { ProxyPlan, WorkerStartOptions } from '../../../config/plan.js';
import { validateQueueId } from '../../../config/queue-id.js';
import { parseCount, parseInterval, parseSeconds, parseSize, splitCommand } from '../../../config/worker-options.js';
import { UserError } from '../../../errors.js';
import type { Handler } from '../../command.js';
import type { CliContext } from '../../context.js';

/** The raw options commander hands the handler. */
export interface StartFlags {
  queueId?: string;
  type: string;
  image?: string;
  imageTag?: string;
  pull?: boolean;
  enableLocalProxy?: boolean;
  disableLocalProxy?: boolean;
  proxyConfigFile?: string;
  proxyConfigJson?: string;
  model?: string;
  controlPlaneUrl?: string;
  apiKey?: string;
  gatewayUrl?: string;
  proxyTimeout?: string;
  daemon?: boolean;
  workerCommand?: string;
  packageSource?: string;
  packageVersion?: string;
  localWheel?: string;
  /** commander's --no-update: false when given */
  update: boolean;
  /** commander's --no-cache: false when given */
  cache: boolean;
  maxLogSize: string;
  maxLogBackups: string;
  grace: string;
  drainTimeout?: string;
  dryRun?: boolean;
  singleExecution?: boolean;
  quiet?: boolean;
  skipModelValidation?: boolean;
  webui?: boolean;
  webuiPort?: string;
  autoUpdate?: boolean;
  updateCheckInterval?: string;
}

/** `kubiya worker start`: flags, proxy-config resolution, --dry-run; hands the plan to the supervisor. */
export const workerStart: Handler<StartFlags, [string[]]> = async (ctx, flags, command) => {
  // the same checks for a dry run and a real start: a dry run never promises what a start refuses
  const queueId = validateQueueId(flags.queueId);
  if (flags.disableLocalProxy && flags.enableLocalProxy === true) {
    throw new UserError('--enable-local-proxy and --disable-local-proxy cannot be used together');
  }
  const enableLocalProxy = flags.disableLocalProxy ? false : flags.enableLocalProxy;
  const options: WorkerStartOptions = {
    daemon: !!flags.daemon,
    noUpdate: flags.update === false,
    noCache: flags.cache === false,
    ...workerType(flags),
    maxLogSizeBytes: parseSize(flags.maxLogSize),
    maxLogBackups: parseCount(flags.maxLogBackups, '--max-log-backups'),
    graceSeconds: parseSeconds(flags.grace, '--grace'),
    drainSeconds: flags.drainTimeout === undefined ? undefined : parseSeconds(flags.drainTimeout, '--drain-timeout'),
    singleExecution: !!flags.singleExecution || truthy(ctx.env.KUBIYA_SINGLE_EXECUTION),
    quiet: !!flags.quiet || truthy(ctx.env.KUBIYA_QUIET),
    webui: flags.webui !== false && !truthy(ctx.env.KUBIYA_NO_WEBUI),
    webuiPort: webuiPort(flags.webuiPort ?? ctx.env.KUBIYA_WEBUI_PORT),
  };
  const skipModelValidation = !!flags.skipModelValidation || truthy(ctx.env.KUBIYA_SKIP_MODEL_VALIDATION);
  const proxyTimeoutSeconds =
    flags.proxyTimeout === undefined
      ? undefined
      : parseSeconds(flags.proxyTimeout, '--proxy-timeout', { positive: true });

  const { currentContext } = await import('../../../config/contexts/index.js');
  const { resolveProxyPlan, defaultModel } = await import('../../../config/resolve.js');
  const cfg = await ctx.configStore();
  const context = currentContext(cfg, ctx.env);
  workerCommand(ctx, options, command, flags.workerCommand, context);
  if (options.workerCommand) packageFlagsUnused(flags, options);
  else if (options.type !== 'docker') options.package = await workerPackage(ctx, flags, options);
  const proxyFlags = {
    enableLocalProxy,
    proxyConfigFile: flags.proxyConfigFile,
    proxyConfigJson: flags.proxyConfigJson,
    model: flags.model,
    controlPlaneUrl: flags.controlPlaneUrl,
    gatewayUrl: flags.gatewayUrl,
    proxyTimeoutSeconds,
  };
  options.autoUpdate = autoUpdate(ctx, flags, options, { flags: proxyFlags, cwd: ctx.cwd, contextFile: cfg.path });
  if (options.autoUpdate && context) {
    const { token: _token, ...rest } = context;
    options.autoUpdate.resolve.context = rest;
  }

  const { fetchQueueConfig } = await import('../../../control-plane/client.js');
  const plan = await resolveProxyPlan({
    queueId,
    flags: { ...proxyFlags, apiKey: flags.apiKey },
    // the queue's config version at start: the first change --auto-update acts on is the next one
    fetchQueue: async (a) => {
      const q = await fetchQueueConfig(a);
      if (q.ok && options.autoUpdate) options.autoUpdate.startVersion = q.version;
      return q;
    },
    env: ctx.env,
    cwd: ctx.cwd,
    context,
    contextFile: cfg.path,
    timeoutMs: (await import('../../../control-plane/client.js')).controlPlaneTimeoutMs(ctx.env),
  });

  if (plan.mode === 'local-proxy' && plan.config) await checkServable(plan, ctx.env, skipModelValidation);
  if (!options.workerCommand) kubiyaWorkerChecks(plan, !flags.dryRun, defaultModel(plan));

  const { planReport, formatPlanText } = await import('../../../config/explain.js');
  const { maskText } = await import('../../../config/litellm/secrets.js');
  const secrets = [plan.apiKey, ...(plan.config?.secretValues ?? [])];
  if (flags.dryRun) {
    const report = planReport(plan, options);
    const text = ctx.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatPlanText(report);
    ctx.stdout.write(maskText(text, secrets));
    return 0;
  }
  if (flags.proxyConfigJson !== undefined)
    ctx.out.warn(
      '--proxy-config-json is readable by every local user (ps, /proc/PID/cmdline) while this command runs; ' +
        'keep keys out of it (os.environ/NAME references) or use --proxy-config-file. ' +
        'It is snapshotted to the queue directory and put on no other command line.',
    );
  for (const w of plan.warnings) ctx.out.warn(maskText(w, secrets));
  const { runWorker } = await ctx.supervisor();
  return runWorker(plan, options, ctx.supervisorIo());
};

/** The worker command: `-- cmd args` > --worker-command > KUBIYA_WORKER_COMMAND > context worker-command. */
function workerCommand(
  ctx: CliContext,
  options: WorkerStartOptions,
  args: string[],
  flag: string | undefined,
  context?: KubiyaContext,
): void {
  const envCmd = ctx.env.KUBIYA_WORKER_COMMAND?.trim() ? ctx.env.KUBIYA_WORKER_COMMAND : undefined;
  if (args.length > 0) [options.workerCommand, options.workerCommandSource] = [args, 'flag (after --)'];
  else if (flag !== undefined)
    [options.workerCommand, options.workerCommandSource] = [
      splitCommand(flag, '--worker-command'),
      'flag (--worker-command)',
    ];
  else if (envCmd)
    [options.workerCommand, options.workerCommandSource] = [
      splitCommand(envCmd, 'KUBIYA_WORKER_COMMAND'),
      'env (KUBIYA_WORKER_COMMAND)',
    ];
  else if (context?.workerCommand?.trim()) {
    options.workerCommand = splitCommand(context.workerCommand, `context "${context.name}" worker-command`);
    options.workerCommandSource = `context (${context.name})`;
  }
}

/** The default worker's package: flags > KUBIYA_WORKER_PACKAGE_* (see config/worker-package.ts). */
async function workerPackage(
  ctx: CliContext,
  flags: StartFlags,
  options: WorkerStartOptions,
): Promise<WorkerStartOptions['package']> {
  if (options.noUpdate && options.noCache)
    throw new UserError("--no-cache clears pip's cache before an install, and --no-update installs nothing; give one", {
      hint: '--no-update starts the installed package as it is; --no-cache (without it) reinstalls past the cache',
    });
  const { resolvePackageRequest } = await import('../../../config/worker-package.js');
  return resolvePackageRequest(
    { source: flags.packageSource, version: flags.packageVersion, wheel: flags.localWheel },
    ctx.env,
    ctx.cwd,
  );
}

/** A worker command of one's own installs no package: a package flag beside it is a mistake worth saying. */
function packageFlagsUnused(flags: StartFlags, options: WorkerStartOptions): void {
  const given = [
    flags.packageSource !== undefined && '--package-source',
    flags.packageVersion !== undefined && '--package-version',
    flags.localWheel !== undefined && '--local-wheel',
    options.noUpdate && '--no-update',
    options.noCache && '--no-cache',
  ].filter(Boolean);
  if (given.length > 0)
    throw new UserError(
      `${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for the default Kubiya worker's package, but the ` +
        `worker command is your own (${options.workerCommandSource})`,
      { hint: 'Drop the package flags, or the worker command to run the Kubiya worker' },
    );
}

/** What the Kubiya worker asks for when no agent or --model names a model (its own default). */
const KUBIYA_DEFAULT_MODEL = 'kubiya/claude-sonnet-4';

/**
 * The default worker is the Kubiya worker: against the gateway it needs the API key (it refuses to start
 * with an empty LITELLM_API_KEY, so say so here first); behind the local proxy, say when an agent's
 * `kubiya/...` model id would find nothing to serve it.
 */
function kubiyaWorkerChecks(plan: ProxyPlan, real: boolean, dflt: string | undefined): void {
  if (plan.mode === 'gateway' && !plan.apiKey) {
    const why =
      'the Kubiya worker needs your Kubiya API key to reach the LLM gateway (and its control plane), and none is set';
    const hint = 'Set KUBIYA_API_KEY, pass --api-key, or give the context a token; or run the local proxy';
    if (real) throw new UserError(why, { hint });
    plan.warnings.push(`${why}: worker start refuses this (${hint.toLowerCase()})`);
  }
  if (plan.mode !== 'local-proxy') return;
  const route = plan.kubiyaDefaultRoute;
  if (route)
    (plan.notes ??= []).push(`the Kubiya worker's default model ${KUBIYA_DEFAULT_MODEL} is served by "${route}"`);
  else
    plan.warnings.push(
      `the config serves neither ${KUBIYA_DEFAULT_MODEL} (the Kubiya worker's default) nor kubiya/*: the worker ` +
        `gets LITELLM_DEFAULT_MODEL=${dflt ?? '(none)'}, but an agent whose model is a kubiya/ id gets a 400; ` +
        `map them to a local model with a model_name "kubiya/*" entry or a router_settings.model_group_alias ` +
        `(templates/mock.yaml and templates/multi-provider.yaml show both)`,
    );
}

/**
 * Ask the engine what the config can serve (providers, credentials, api_base), so neither the dry
 * run nor a real start promises models the proxy would answer with errors.
 */
async function checkServable(plan: ProxyPlan, env: NodeJS.ProcessEnv, skipModelValidation: boolean): Promise<void> {
  const loaded = plan.config!;
  const { inspectConfig } = await import('../../../engine/index.js');
  const seen = await inspectConfig(loaded, env);
  const fresh = seen.routeWarnings;
  for (const w of fresh) plan.warnings.push(`${loaded.source}: ${w.path}: ${w.message}`);
  plan.servedModels = seen.servedModels;
  plan.kubiyaDefaultRoute = seen.routeOf(KUBIYA_DEFAULT_MODEL) ?? null;
  if (plan.servedModels.length > 0) {
    if (plan.model && !skipModelValidation && seen.routeOf(plan.model) === undefined) {
      // the worker would send every call to a model the proxy answers with a 400
      const from = plan.origins.model ? ` (from ${plan.origins.model})` : '';
      throw new UserError(
        `the model "${plan.model}"${from} is not one the local proxy serves; it serves: ` +
          `${plan.servedModels.join(', ')}`,
        {
          hint:
            'Pick one of those with --model (or KUBIYA_MODEL), add the model to the config, ' +
            'or pass --skip-model-validation (offline or testing)',
        },
      );
    }
    return;
  }
  const why =
    fresh.length > 0 ? `:\n${fresh.map((w) => `  ${w.path}: ${w.message}`).join('\n')}` : ' (its model_list is empty)';
  // the dry run gives the same verdict as the start; the hint names something that exists
  const { existsSync } = await import('node:fs');
  throw new UserError(`${loaded.source}: the local proxy would serve no model${why}`, {
    hint: existsSync(loaded.source)
      ? `Check the config with: kubiya proxy validate ${loaded.source}`
      : plan.configSource?.level === 'queue'
        ? "Fix the queue's litellm_config in the control plane, or give one here with --proxy-config-file FILE"
        : 'Give at least one model_list entry the proxy can serve (see the reasons above)',
  });
}

/**
 * --auto-update (KUBIYA_AUTO_UPDATE) with --update-check-interval (KUBIYA_UPDATE_CHECK_INTERVAL, default 5m); the
 * interval is checked even when auto-update is off, so a typo is never silently ignored.
 */
function autoUpdate(
  ctx: CliContext,
  flags: StartFlags,
  options: WorkerStartOptions,
  resolve: NonNullable<WorkerStartOptions['autoUpdate']>['resolve'],
): WorkerStartOptions['autoUpdate'] {
  const raw = flags.updateCheckInterval ?? ctx.env.KUBIYA_UPDATE_CHECK_INTERVAL;
  const from = flags.updateCheckInterval !== undefined ? '--update-check-interval' : 'KUBIYA_UPDATE_CHECK_INTERVAL';
  const intervalMs = raw === undefined || raw.trim() === '' ? 5 * 60_000 : parseInterval(raw, from);
  if (!flags.autoUpdate && !truthy(ctx.env.KUBIYA_AUTO_UPDATE)) return undefined;
  if (options.singleExecution)
    throw new UserError('--auto-update cannot be used with --single-execution: a one-task worker is never restarted');
  const pin = options.workerCommand
    ? 'the worker is your own command'
    : options.type === 'docker'
      ? 'the worker runs in a container (its image brings the package)'
      : options.package && options.package.from !== 'default'
        ? `the package is pinned by ${options.package.from}`
        : undefined;
  return { intervalMs, resolve, ...(pin ? { packagePinned: pin } : {}) };
}

const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

/** --webui-port / KUBIYA_WEBUI_PORT: 0..65535 (0: a free port). */
function webuiPort(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UserError(`--webui-port must be a port number from 0 to 65535 (0: a free one), not "${v}"`);
  return n;
}

/** The default image of `--type docker` (Kubiya's agent worker). */
export const DEFAULT_WORKER_IMAGE = 'ghcr.io/kubiyabot/agent-worker';

// an image reference's repository (registry host[:port]/ and lowercase path components), as the Engine API takes it
const HOST_PART = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_RE = new RegExp(`^(?:${HOST_PART}(?:\\.${HOST_PART})*(?::\\d+)?/)?${PATH_PART}(?:/${PATH_PART})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** --type and, for `docker`, --image / --image-tag / --pull; the docker flags with --type local are refused. */
function workerType(flags: StartFlags): Pick<WorkerStartOptions, 'type' | 'docker'> {
  if (flags.type !== 'docker') {
    const given = [
      flags.image !== undefined && '--image',
      flags.imageTag !== undefined && '--image-tag',
      flags.pull !== undefined && (flags.pull ? '--pull' : '--no-pull'),
    ].filter(Boolean);
    if (given.length > 0)
      throw new UserError(`${given.join(', ')}: only for a worker in a container (this is --type ${flags.type})`, {
        hint: 'Add --type docker, or drop the flag',
      });
    return { type: 'local' };
  }
  const given = [
    flags.packageSource !== undefined && '--package-source',
    flags.packageVersion !== undefined && '--package-version',
    flags.localWheel !== undefined && '--local-wheel',
    flags.update === false && '--no-update',
    flags.cache === false && '--no-cache',
  ].filter(Boolean);
  if (given.length > 0)
    throw new UserError(
      `${given.join(', ')}: the worker package is installed in a local venv, not with --type docker`,
      {
        hint: 'The image brings the worker: pick it with --image and --image-tag',
      },
    );
  const image = flags.image ?? DEFAULT_WORKER_IMAGE;
  if (/@|:[^/]*$/.test(image))
    throw new UserError(`--image "${image}": give the repository only, the tag with --image-tag`, {
      hint: `e.g. --image ${image.replace(/[:@][^/]*$/, '')} --image-tag ${image.split(/[:@]/).pop()}`,
    });
  if (!IMAGE_RE.test(image))
    throw new UserError(
      `--image "${image}" is not an image repository (expected e.g. ghcr.io/org/name or name: lowercase letters, ` +
        'digits, ".", "_", "-", separated by "/", optionally after a registry host[:port])',
    );
  const tag = flags.imageTag ?? 'latest';
  if (!TAG_RE.test(tag))
    throw new UserError(
      `--image-tag "${tag}" is not a tag ` +
        '(expected up to 128 letters, digits, "_", "." or "-", not starting with "." or "-")',
    );
  return { type: 'docker', docker: { image, tag, pull: flags.pull !== false } };
}
