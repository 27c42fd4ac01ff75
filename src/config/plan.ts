import type { KubiyaContext } from './contexts/schema.js';
import type { LoadedConfig } from './litellm/load.js';
import type { ProxyFlags } from './resolve.js';
import type { PackageRequest } from './worker-package.js';

/** Where a setting came from, highest priority first (see README "Resolution order"). */
export type Level = 'flag' | 'env' | 'context' | 'queue' | 'gateway' | 'default';

/**
 * The resolved answer to "how should this worker reach an LLM": produced by `resolveProxyPlan`
 * (src/config/resolve.ts), consumed by the supervisor and by `worker start --dry-run`.
 */
export interface ProxyPlan {
  queueId: string;
  /** `local-proxy`: run the bundled engine; `gateway`: point the worker at the control plane's gateway */
  mode: 'local-proxy' | 'gateway';
  /** the loaded LiteLLM config (local-proxy mode only) */
  config?: LoadedConfig;
  /** the level and label the config came from, e.g. {level: 'flag', label: '/path/cfg.yaml'} */
  configSource?: { level: Level; label: string };
  /** default model for the worker (KUBIYA_MODEL_OVERRIDE) */
  model?: string;
  /** readiness timeout for the engine, seconds */
  proxyTimeoutSeconds: number;
  /** how many times the supervisor retries a failed engine start */
  proxyMaxRetries: number;
  controlPlaneUrl: string;
  /** the user's Kubiya API key (never printed) */
  apiKey?: string;
  /** gateway mode: the URL the worker is pointed at */
  gatewayUrl?: string;
  /** which level won each setting: enableLocalProxy, config, model, controlPlaneUrl, apiKey, ... */
  origins: Record<string, Level>;
  warnings: string[];
  /** informational lines for --dry-run (e.g. "no API key: queue settings not consulted") */
  notes?: string[];
  /** model names the engine can actually serve (checked against its providers), when known */
  servedModels?: string[];
  /**
   * the model group the Kubiya worker's default model id (`kubiya/claude-sonnet-4`) is routed to by the config
   * (its name, an alias or a wildcard such as `kubiya/*`), when the config was checked; null: none
   */
  kubiyaDefaultRoute?: string | null;
  /** the context in effect, if any */
  contextName?: string;
}

/** What `worker start` hands the supervisor besides the plan. */
export interface WorkerStartOptions {
  daemon: boolean;
  /** --type: `local` (a process on this machine, the default) or `docker` (a container, see `docker`) */
  type?: 'local' | 'docker';
  /** --type docker: the image and whether to pull it first (see supervisor/docker/) */
  docker?: DockerWorkerOptions;
  /** the worker command; undefined means "the queue venv's kubiya-control-plane-worker" */
  workerCommand?: string[];
  /** where the worker command came from, for messages */
  workerCommandSource?: string;
  /** the default worker's package (--package-source / --package-version / --local-wheel); undefined: the newest */
  package?: PackageRequest;
  /** --no-update: use the package the queue's venv has, look for no newer one */
  noUpdate?: boolean;
  /** --no-cache: clear pip's cache before installing */
  noCache?: boolean;
  /** the default worker's installed package version, once installed (worker status, the worker page) */
  installedPackageVersion?: string;
  maxLogSizeBytes: number;
  maxLogBackups: number;
  /** seconds to wait for the worker to exit after SIGTERM before SIGKILL */
  graceSeconds: number;
  /**
   * the drain budget: seconds the engine may finish in-flight requests after SIGTERM (its --drain-timeout),
   * and what `worker stop` waits for; undefined: KUBIYA_ENGINE_DRAIN_MS, else 30
   */
  drainSeconds?: number;
  /** --single-execution: the worker runs one task (SINGLE_EXECUTION=true), is never restarted, its code is ours */
  singleExecution?: boolean;
  /** --quiet: the worker's and the proxy's output only go to their logs, not to the terminal */
  quiet?: boolean;
  /** the worker's web page: false with --no-webui; its port (0 or undefined: a free one) */
  webui?: boolean;
  webuiPort?: number;
  /** --auto-update: the supervisor checks the queue's config and the worker package every interval */
  autoUpdate?: AutoUpdateOptions;
}

/** `worker start --auto-update`: how often to check, and what is needed to resolve the proxy config again. */
export interface AutoUpdateOptions {
  intervalMs: number;
  /** the queue's config version the plan was resolved from (none: the control plane was not asked or failed) */
  startVersion?: string;
  /** why the worker package is not updated (a pinned version or wheel, the user's own command); none: it is */
  packagePinned?: string;
  /**
   * the resolution's inputs besides the queue settings, as at start, so a new queue config is resolved the same
   * way (flags > env > context > queue); no secrets: the API key is the plan's and the context's token is left out
   */
  resolve: {
    flags: Omit<ProxyFlags, 'apiKey'>;
    cwd: string;
    context?: Omit<KubiyaContext, 'token'>;
    contextFile?: string;
  };
}

/** `worker start --type docker`: which image runs the worker. */
export interface DockerWorkerOptions {
  /** --image, default ghcr.io/kubiyabot/agent-worker */
  image: string;
  /** --image-tag, default latest */
  tag: string;
  /** --pull (default) / --no-pull: pull image:tag before the first start */
  pull: boolean;
}
