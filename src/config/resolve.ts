import path from 'node:path';
import { type FetchQueueArgs, fetchQueueConfig, type QueueConfigResult } from '../control-plane/client.js';
import { UserError } from '../errors.js';
import { expandHome } from '../util/paths.js';
import { checkUrl } from './contexts/edit.js';
import type { KubiyaContext } from './contexts/schema.js';
import { envBool, envString } from './env-values.js';
import { type ConfigSource, type LoadedConfig, loadLiteLLMConfig } from './litellm/load.js';
import type { Level, ProxyPlan } from './plan.js';

export const DEFAULT_CONTROL_PLANE_URL = 'https://control-plane.kubiya.ai';
export const DEFAULT_GATEWAY_URL = 'https://llm-proxy.kubiya.ai';
export const DEFAULT_PROXY_TIMEOUT_SECONDS = 30;
export const DEFAULT_PROXY_MAX_RETRIES = 3;

/** The `worker start` flags that take part in resolution (undefined = not given). */
export interface ProxyFlags {
  enableLocalProxy?: boolean;
  proxyConfigFile?: string;
  proxyConfigJson?: string;
  model?: string;
  controlPlaneUrl?: string;
  apiKey?: string;
  gatewayUrl?: string;
  proxyTimeoutSeconds?: number;
}

export interface ResolveInput {
  queueId: string;
  flags: ProxyFlags;
  /** default: process.env */
  env?: NodeJS.ProcessEnv;
  /** where relative paths in flags and env resolve from (default: process.cwd()) */
  cwd?: string;
  /** the context in effect (see currentContext()) */
  context?: KubiyaContext;
  /** the kubiya config file: relative `config-file` paths resolve against its folder */
  contextFile?: string;
  /** injectable for tests; default: the real control-plane client */
  fetchQueue?: (a: FetchQueueArgs) => Promise<QueueConfigResult>;
  /** bound on the control-plane call */
  timeoutMs?: number;
}

interface Candidate {
  level: Level;
  /** how this level is named in messages: `--enable-local-proxy`, `KUBIYA_ENABLE_LOCAL_PROXY`, `context "dev"` */
  enableLabel: string;
  enable?: boolean;
  source?: ConfigSource;
  model?: string;
}

/**
 * Decide how the worker reaches an LLM: flags > env > context > queue settings > default gateway,
 * setting by setting. Throws UserError (exit 2) when a local config asked for at levels 1-3 cannot
 * be loaded; control-plane trouble only falls through to the gateway with a warning.
 */
export async function resolveProxyPlan(input: ResolveInput): Promise<ProxyPlan> {
  const env = input.env ?? process.env;
  const warnings: string[] = [];
  const notes: string[] = [];
  const origins: Record<string, Level> = {};
  const ctx = input.context;
  const levels = candidates(input, env, warnings);

  const pick = <T>(key: string, values: [Level, T | undefined][], fallback?: [Level, T]): T | undefined => {
    const hit = values.find(([, v]) => v !== undefined) ?? fallback;
    if (hit) origins[key] = hit[0];
    return hit?.[1];
  };
  const controlPlaneUrl = pick(
    'controlPlaneUrl',
    [
      ['flag', url(input.flags.controlPlaneUrl, '--control-plane-url')],
      ['env', url(envString(env, 'KUBIYA_CONTROL_PLANE_BASE_URL'), 'KUBIYA_CONTROL_PLANE_BASE_URL')],
      ['context', url(ctx?.apiUrl, `context "${ctx?.name}" api-url`)],
    ],
    ['default', DEFAULT_CONTROL_PLANE_URL],
  )!;
  const apiKey = pick('apiKey', [
    ['flag', nonEmpty(input.flags.apiKey)],
    ['env', envString(env, 'KUBIYA_API_KEY')],
    ['context', nonEmpty(ctx?.token)],
  ]);
  const model = pick(
    'model',
    levels.map((l) => [l.level, l.model] as [Level, string | undefined]),
  );

  const enableAt = levels.find((l) => l.enable !== undefined);
  const configAt = levels.find((l) => l.source !== undefined);
  const base = {
    queueId: input.queueId,
    controlPlaneUrl,
    apiKey,
    model,
    origins,
    warnings,
    notes,
    contextName: ctx?.name,
  };

  if (enableAt?.enable === false) {
    origins.enableLocalProxy = enableAt.level;
    notes.push(`local proxy disabled by ${enableAt.enableLabel}; queue settings not consulted`);
    return gatewayPlan(base, input, env);
  }

  let queue: QueueConfigResult | undefined;
  if (!apiKey)
    notes.push("no API key (--api-key, KUBIYA_API_KEY or the context user's token): queue settings not consulted");
  else {
    queue = await (input.fetchQueue ?? fetchQueueConfig)({
      controlPlaneUrl,
      apiKey,
      queueId: input.queueId,
      timeoutMs: input.timeoutMs,
    });
    if (queue.ok) warnings.push(...queue.warnings);
  }
  const qs = queue?.ok ? queue.settings : undefined;
  const timeouts = () => {
    const proxyTimeoutSeconds = pick(
      'proxyTimeoutSeconds',
      [
        ['flag', input.flags.proxyTimeoutSeconds],
        ['queue', qs?.localProxyTimeoutSeconds],
      ],
      ['default', DEFAULT_PROXY_TIMEOUT_SECONDS],
    )!;
    const proxyMaxRetries = pick(
      'proxyMaxRetries',
      [['queue', qs?.localProxyMaxRetries]],
      ['default', DEFAULT_PROXY_MAX_RETRIES],
    )!;
    return { proxyTimeoutSeconds, proxyMaxRetries };
  };

  if (configAt) {
    // asked for explicitly: a config that does not load is the user's error, never a silent fallback
    const loaded = loadLiteLLMConfig(configAt.source!, { env });
    origins.enableLocalProxy = enableAt!.level;
    origins.config = configAt.level;
    if (queue && !queue.ok)
      warnings.push(
        `could not read the queue's settings (${queue.reason}); using defaults for the proxy timeout and retries`,
      );
    return localPlan(base, loaded, configAt.level, timeouts());
  }

  if (enableAt?.enable === true) {
    const why =
      queue === undefined
        ? 'no API key to read the queue settings'
        : !queue.ok
          ? queue.reason
          : 'the queue settings have no litellm_config';
    if (qs?.litellmConfig === undefined) {
      throw new UserError(
        `the local proxy is enabled by ${enableAt.enableLabel}, but no LiteLLM config was given (${why})`,
        {
          hint:
            'Give one with --proxy-config-file FILE, --proxy-config-json JSON, KUBIYA_PROXY_CONFIG_FILE, ' +
            'or: kubiya config set-proxy --enable --config-file FILE',
        },
      );
    }
    const loaded = loadLiteLLMConfig(queueSource(qs.litellmConfig), { env });
    origins.enableLocalProxy = enableAt.level;
    origins.config = 'queue';
    return localPlan(base, loaded, 'queue', timeouts());
  }

  // nothing local asked for: the queue decides, and any trouble falls through to the gateway
  if (queue && !queue.ok) {
    warnings.push(`could not read the queue's settings: ${queue.reason}; using the default LLM gateway`);
    origins.enableLocalProxy = 'gateway';
    return gatewayPlan(base, input, env);
  }
  if (qs?.enableLocalLitellmProxy === true) {
    if (qs.litellmConfig === undefined) {
      warnings.push(
        'the queue settings enable the local proxy but carry no litellm_config; using the default LLM gateway',
      );
      origins.enableLocalProxy = 'gateway';
      return gatewayPlan(base, input, env);
    }
    try {
      const loaded = loadLiteLLMConfig(queueSource(qs.litellmConfig), { env });
      origins.enableLocalProxy = 'queue';
      origins.config = 'queue';
      return localPlan(base, loaded, 'queue', timeouts());
    } catch (e) {
      warnings.push(
        `the queue's litellm_config cannot be used (${(e as Error).message}); using the default LLM gateway`,
      );
      origins.enableLocalProxy = 'gateway';
      return gatewayPlan(base, input, env);
    }
  }
  origins.enableLocalProxy = qs?.enableLocalLitellmProxy === false ? 'queue' : 'default';
  return gatewayPlan(base, input, env);
}

type Base = Pick<
  ProxyPlan,
  'queueId' | 'controlPlaneUrl' | 'apiKey' | 'model' | 'origins' | 'warnings' | 'notes' | 'contextName'
>;

function localPlan(
  base: Base,
  loaded: LoadedConfig,
  level: Level,
  t: { proxyTimeoutSeconds: number; proxyMaxRetries: number },
): ProxyPlan {
  for (const w of loaded.warnings) base.warnings.push(`${loaded.source}: ${w.path}: ${w.message}`);
  const names = servedModels(loaded);
  if (names.length === 0) base.warnings.push(`${loaded.source}: model_list is empty, so the proxy serves no model`);
  if (base.model && names.length > 0 && !names.includes(base.model) && !names.some((n) => n.includes('*'))) {
    base.warnings.push(`the default model "${base.model}" is not in the config's model_list (${names.join(', ')})`);
  }
  return { ...base, mode: 'local-proxy', config: loaded, configSource: { level, label: loaded.source }, ...t };
}

function gatewayPlan(base: Base, input: ResolveInput, env: NodeJS.ProcessEnv): ProxyPlan {
  const ctx = input.context;
  const choices: [Level, string | undefined][] = [
    ['flag', url(input.flags.gatewayUrl, '--gateway-url')],
    ['env', url(envString(env, 'KUBIYA_LLM_GATEWAY_URL'), 'KUBIYA_LLM_GATEWAY_URL')],
    ['context', url(ctx?.llmGatewayUrl, `context "${ctx?.name}" llm-gateway-url`)],
  ];
  const hit = choices.find(([, v]) => v !== undefined) ?? (['default', DEFAULT_GATEWAY_URL] as [Level, string]);
  base.origins.gatewayUrl = hit[0];
  if (!base.apiKey)
    base.warnings.push(
      'no API key: the worker reaches the LLM gateway without credentials ' +
        '(set --api-key, KUBIYA_API_KEY or a context token)',
    );
  return {
    ...base,
    mode: 'gateway',
    gatewayUrl: hit[1],
    proxyTimeoutSeconds: DEFAULT_PROXY_TIMEOUT_SECONDS,
    proxyMaxRetries: DEFAULT_PROXY_MAX_RETRIES,
  };
}

/**
 * The model a worker asks for when nothing else names one (the Kubiya worker: KUBIYA_MODEL_OVERRIDE > the
 * agent's model > LITELLM_DEFAULT_MODEL > kubiya/claude-sonnet-4, which no local config serves by itself):
 * the --model, else, behind the local proxy, the config's first model group that is not a wildcard.
 */
export function defaultModel(plan: ProxyPlan): string | undefined {
  if (plan.model) return plan.model;
  if (plan.mode === 'gateway' || !plan.config) return undefined;
  const names = plan.servedModels ?? servedModels(plan.config);
  return names.find((n) => !n.includes('*'));
}

/** The distinct model names a loaded config serves, in order. */
export function servedModels(loaded: LoadedConfig): string[] {
  return [...new Set(loaded.config.model_list.map((m) => m.model_name))];
}

function queueSource(value: unknown): ConfigSource {
  return { kind: 'object', value, label: 'queue settings' };
}

function candidates(input: ResolveInput, env: NodeJS.ProcessEnv, warnings: string[]): Candidate[] {
  const f = input.flags;
  const ctx = input.context;
  const cwd = input.cwd ?? process.cwd();
  const file = (p: string | undefined, relativeTo: string) => fileSource(p, relativeTo, env);
  const flag = level(
    'flag',
    f.enableLocalProxy === false ? '--no-enable-local-proxy' : '--enable-local-proxy',
    f.enableLocalProxy,
    file(f.proxyConfigFile, cwd),
    inline(f.proxyConfigJson, '--proxy-config-json'),
    nonEmpty(f.model),
    warnings,
    '--proxy-config-file',
    '--proxy-config-json',
  );
  const envFile = envString(env, 'KUBIYA_PROXY_CONFIG_FILE');
  const envL = level(
    'env',
    'KUBIYA_ENABLE_LOCAL_PROXY',
    envBool(env, 'KUBIYA_ENABLE_LOCAL_PROXY'),
    file(envFile, cwd),
    inline(envString(env, 'KUBIYA_PROXY_CONFIG_JSON'), 'KUBIYA_PROXY_CONFIG_JSON'),
    envString(env, 'KUBIYA_MODEL'),
    warnings,
    'KUBIYA_PROXY_CONFIG_FILE',
    'KUBIYA_PROXY_CONFIG_JSON',
  );
  const p = ctx?.litellmProxy;
  const dir = input.contextFile ? path.dirname(input.contextFile) : cwd;
  const where = `context "${ctx?.name}"`;
  const ctxInline =
    p?.configJson === undefined
      ? undefined
      : {
          kind: 'object' as const,
          value: p.configJson,
          label: `${where} litellm-proxy.config-json${input.contextFile ? ` (${input.contextFile})` : ''}`,
        };
  const ctxL = level(
    'context',
    `${where} litellm-proxy.enabled`,
    p?.enabled,
    file(nonEmpty(p?.configFile), dir),
    ctxInline,
    nonEmpty(p?.model),
    warnings,
    `${where} config-file`,
    `${where} config-json`,
  );
  return [flag, envL, ctxL];
}

function level(
  lv: Level,
  enableLabel: string,
  enable: boolean | undefined,
  fileSrc: ConfigSource | undefined,
  inlineSrc: ConfigSource | undefined,
  model: string | undefined,
  warnings: string[],
  fileName: string,
  jsonName: string,
): Candidate {
  if (fileSrc && inlineSrc)
    warnings.push(`both ${fileName} and ${jsonName} are set; using the file and ignoring ${jsonName}`);
  const source = fileSrc ?? inlineSrc;
  // giving a config at a level asks for the local proxy at that level, unless the level says otherwise
  const implied = enable === undefined && source !== undefined;
  return {
    level: lv,
    enableLabel: implied ? (fileSrc ? fileName : jsonName) : enableLabel,
    enable: implied ? true : enable,
    source,
    model,
  };
}

function fileSource(p: string | undefined, relativeTo: string, env: NodeJS.ProcessEnv): ConfigSource | undefined {
  if (p === undefined) return undefined;
  return { kind: 'file', path: path.resolve(relativeTo, expandHome(p.trim(), env)) };
}

function inline(text: string | undefined, label: string): ConfigSource | undefined {
  return text === undefined ? undefined : { kind: 'text', text, label };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

function url(v: string | undefined, name: string): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : checkUrl(v.trim(), name);
}
