import { maskCommandLine, maskValue } from './litellm/secrets.js';
import type { Level, ProxyPlan, WorkerStartOptions } from './plan.js';
import { defaultModel, servedModels } from './resolve.js';

/** What `worker start --dry-run --output json` prints: every setting with the level that won it. */
export interface PlanReport {
  dryRun: true;
  queueId: string;
  context: string | null;
  mode: ProxyPlan['mode'];
  settings: Record<string, { value: unknown; from: Level | string }>;
  /** default_model: what the worker gets as LITELLM_DEFAULT_MODEL */
  config: { source: string; level: Level; models: string[]; default_model: string | null } | null;
  worker: { command: string[] | null; from: string };
  /** the options; of --auto-update only its interval and why the package is not updated (if so) */
  options: Omit<WorkerStartOptions, 'workerCommand' | 'workerCommandSource' | 'autoUpdate'> & {
    autoUpdate?: { intervalMs: number; packagePinned?: string };
  };
  warnings: string[];
  notes: string[];
}

/** Build the report. The API key is masked here; the caller masks any other resolved secret (`maskText`). */
export function planReport(plan: ProxyPlan, options: WorkerStartOptions): PlanReport {
  const o = plan.origins;
  const settings: PlanReport['settings'] = {
    enableLocalProxy: { value: plan.mode === 'local-proxy', from: o.enableLocalProxy ?? 'default' },
  };
  if (plan.mode === 'local-proxy') {
    settings.config = { value: plan.configSource?.label ?? null, from: o.config ?? 'default' };
    settings.proxyTimeoutSeconds = { value: plan.proxyTimeoutSeconds, from: o.proxyTimeoutSeconds ?? 'default' };
    settings.proxyMaxRetries = { value: plan.proxyMaxRetries, from: o.proxyMaxRetries ?? 'default' };
  } else {
    settings.gatewayUrl = { value: plan.gatewayUrl ?? null, from: o.gatewayUrl ?? 'default' };
  }
  settings.model = { value: plan.model ?? null, from: o.model ?? 'none' };
  settings.controlPlaneUrl = { value: plan.controlPlaneUrl, from: o.controlPlaneUrl ?? 'default' };
  settings.apiKey = { value: plan.apiKey ? maskValue(plan.apiKey) : null, from: o.apiKey ?? 'none' };
  const { workerCommand, workerCommandSource, autoUpdate: au, ...rest } = options;
  return {
    dryRun: true,
    queueId: plan.queueId,
    context: plan.contextName ?? null,
    mode: plan.mode,
    settings,
    config:
      plan.config && plan.configSource
        ? {
            source: plan.configSource.label,
            level: plan.configSource.level,
            models: plan.servedModels ?? servedModels(plan.config),
            default_model: defaultModel(plan) ?? null,
          }
        : null,
    worker: {
      command: workerCommand
        ? maskCommandLine(workerCommand, [plan.apiKey, ...(plan.config?.secretValues ?? [])])
        : null,
      from:
        workerCommandSource ??
        (options.type === 'docker' ? "default (the image's own command)" : "default (the queue venv's worker)"),
    },
    options: au ? { ...rest, autoUpdate: { intervalMs: au.intervalMs, packagePinned: au.packagePinned } } : rest,
    warnings: plan.warnings,
    notes: plan.notes ?? [],
  };
}

const LABELS: Record<string, string> = {
  enableLocalProxy: 'local proxy',
  config: 'config',
  proxyTimeoutSeconds: 'proxy timeout (s)',
  proxyMaxRetries: 'proxy max retries',
  gatewayUrl: 'gateway url',
  model: 'model',
  controlPlaneUrl: 'control plane url',
  apiKey: 'api key',
};

/** The human form of the report. */
export function formatPlanText(r: PlanReport): string {
  const mode =
    r.mode === 'local-proxy' ? 'local proxy (bundled LiteLLM-compatible engine)' : 'LLM gateway (no local proxy)';
  const lines = [
    `Queue:   ${r.queueId}`,
    `Context: ${r.context ?? '(none)'}`,
    `Mode:    ${mode}`,
    '',
    'Setting (winning level in brackets)',
  ];
  const rows = Object.entries(r.settings).map(([k, s]) => {
    const v =
      s.value === null ? '-' : typeof s.value === 'boolean' ? (s.value ? 'enabled' : 'disabled') : String(s.value);
    return [LABELS[k] ?? k, v, s.from];
  });
  const width = Math.max(5, ...rows.map((x) => x[1].length));
  for (const [label, v, from] of rows) lines.push(`  ${label.padEnd(19)}${v.padEnd(width)}   [${from}]`);
  if (r.config) {
    lines.push('', `Models served (${r.config.models.length}): ${r.config.models.join(', ') || '(none)'}`);
    if (r.config.default_model) lines.push(`Worker's default model: ${r.config.default_model} (LITELLM_DEFAULT_MODEL)`);
  }
  const docker = r.options.docker;
  const dflt = docker ? "the image's own" : "the queue venv's worker";
  lines.push('', `Worker command: ${r.worker.command ? r.worker.command.join(' ') : dflt}   [${r.worker.from}]`);
  if (docker)
    lines.push(
      `Runs in: a Docker container, ${docker.image}:${docker.tag} (${docker.pull ? 'pulled first' : 'not pulled'}); ` +
        'the proxy listens on the Docker bridge gateway',
    );
  if (!r.worker.command && r.options.package)
    lines.push(
      `Worker package: ${r.options.package.spec}   [${r.options.package.from}]   ` +
        (r.options.noUpdate ? 'the installed one (--no-update)' : 'updated at start'),
    );
  lines.push(
    `Daemon: ${r.options.daemon ? 'yes' : 'no'}   ` +
      `logs rotate at ${humanSize(r.options.maxLogSizeBytes)}, ${r.options.maxLogBackups} backups   ` +
      `grace: ${r.options.graceSeconds}s   drain: ${r.options.drainSeconds ?? 30}s`,
  );
  const au = r.options.autoUpdate;
  if (au)
    lines.push(
      `Auto-update: every ${au.intervalMs / 1000}s (queue config` +
        `${au.packagePinned ? `; package not updated: ${au.packagePinned}` : ' and worker package'})`,
    );
  if (r.warnings.length) lines.push('', 'Warnings:', ...r.warnings.map((w) => `  - ${w}`));
  if (r.notes.length) lines.push('', 'Notes:', ...r.notes.map((n) => `  - ${n}`));
  lines.push('', 'Dry run: nothing was started.');
  return `${lines.join('\n')}\n`;
}

/** 104857600 -> "100MB" (binary units, as --max-log-size takes them). */
function humanSize(bytes: number): string {
  for (const [unit, n] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes} bytes`;
}
