import { Command, Option } from 'commander';
import { UserError } from '../../../errors.js';
import { parseOutputMode, warn } from '../../output.js';
import type { ProxyPlan, WorkerStartOptions } from '../../../config/plan.js';
import { checkQueueId, parseCount, parseSeconds, parseSize, splitCommand } from '../../../config/worker-options.js';

/** The raw options commander hands the handler. */
interface StartFlags {
  queueId?: string;
  type: string;
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
  maxLogSize: string;
  maxLogBackups: string;
  grace: string;
  dryRun?: boolean;
  output?: string;
}

const HELP = `
Where the worker's LLM settings come from (a higher level wins, setting by setting):
  1. flags     --enable-local-proxy, --proxy-config-file, --proxy-config-json, --model
  2. env       KUBIYA_ENABLE_LOCAL_PROXY, KUBIYA_PROXY_CONFIG_FILE, KUBIYA_PROXY_CONFIG_JSON, KUBIYA_MODEL
  3. context   litellm-proxy block of the current context (~/.kubiya/config, KUBIYA_CONTEXT)
  4. queue     the queue's settings from the control plane (needs an API key)
  5. gateway   no local proxy: the worker uses the LLM gateway with your API key

Examples:
  kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml --dry-run
  kubiya worker start --queue-id q1 --enable-local-proxy --model gpt-4o -d
  kubiya worker start --queue-id q1 --dry-run --output json
  kubiya worker start --queue-id q1 -- python -m my_worker --verbose`;

/** `kubiya worker start`: flags, proxy-config resolution, --dry-run; hands the plan to the supervisor. */
export function registerStart(worker: Command): void {
  worker
    .command('start')
    .description('Start a worker for a queue, behind a local LLM proxy or the LLM gateway')
    .argument('[command...]', 'worker command after "--" (default: the queue venv\'s worker)')
    .requiredOption('--queue-id <id>', 'the worker queue id (letters, digits, . _ -)')
    .addOption(new Option('--type <type>', 'where the worker runs').choices(['local']).default('local'))
    .option('--enable-local-proxy', 'run the bundled LLM proxy for this worker')
    .option('--no-enable-local-proxy', 'do not run the local proxy (use the LLM gateway)')
    .option('--disable-local-proxy', 'same as --no-enable-local-proxy')
    .option('--proxy-config-file <file>', 'LiteLLM config file (YAML or JSON)')
    .option('--proxy-config-json <json>', 'LiteLLM config as inline JSON')
    .option('--model <model>', 'default model for the worker')
    .option('--control-plane-url <url>', 'control plane URL (default https://control-plane.kubiya.ai)')
    .option('--api-key <key>', 'Kubiya API key (prefer KUBIYA_API_KEY or a context token: flags show in ps)')
    .option('--gateway-url <url>', 'LLM gateway URL when no local proxy runs (default https://llm-proxy.kubiya.ai)')
    .option('--proxy-timeout <s>', 'seconds to wait for the local proxy to become ready (default: the queue\'s local_proxy_timeout_seconds, else 30)')
    .option('-d, --daemon', 'run in the background (see kubiya worker status|logs|stop)')
    .option('--worker-command <cmd>', 'worker command line (quoted); "-- cmd args" wins over it')
    .option('--package-source <src>', 'where the worker package is installed from')
    .option('--package-version <version>', 'worker package version')
    .option('--local-wheel <file>', 'install the worker from a local wheel')
    .option('--max-log-size <size>', 'rotate logs at this size (10KB, 5MB, 1GB)', '100MB')
    .option('--max-log-backups <n>', 'rotated log files to keep', '5')
    .option('--grace <s>', 'seconds the worker gets to exit after SIGTERM before SIGKILL', '30')
    .option('--dry-run', 'print the resolved plan and start nothing')
    .option('-o, --output <format>', 'text or json (with --dry-run)', 'text')
    .addHelpText('after', HELP)
    .action(async (command: string[], flags: StartFlags) => {
      process.exitCode = await startHandler(command, flags);
    });
}

async function startHandler(command: string[], flags: StartFlags): Promise<number> {
  const queueId = checkQueueId(flags.queueId);
  let outputMode: ReturnType<typeof parseOutputMode>;
  try {
    outputMode = parseOutputMode(flags.output);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  if (flags.disableLocalProxy && flags.enableLocalProxy === true) {
    throw new UserError('--enable-local-proxy and --disable-local-proxy cannot be used together');
  }
  const enableLocalProxy = flags.disableLocalProxy ? false : flags.enableLocalProxy;
  const options: WorkerStartOptions = {
    daemon: !!flags.daemon,
    packageSource: flags.packageSource,
    packageVersion: flags.packageVersion,
    localWheel: flags.localWheel,
    maxLogSizeBytes: parseSize(flags.maxLogSize),
    maxLogBackups: parseCount(flags.maxLogBackups, '--max-log-backups'),
    graceSeconds: parseSeconds(flags.grace, '--grace'),
  };
  const proxyTimeoutSeconds = flags.proxyTimeout === undefined ? undefined : parseSeconds(flags.proxyTimeout, '--proxy-timeout', { positive: true });

  const { loadKubiyaConfig, currentContext } = await import('../../../config/contexts/index.js');
  const { resolveProxyPlan } = await import('../../../config/resolve.js');
  const { controlPlaneTimeoutMs } = await import('../../../control-plane/client.js');
  const cfg = loadKubiyaConfig();
  const context = currentContext(cfg);

  // worker command: `-- cmd args` > --worker-command > KUBIYA_WORKER_COMMAND > context worker-command
  const envCmd = process.env.KUBIYA_WORKER_COMMAND?.trim() ? process.env.KUBIYA_WORKER_COMMAND : undefined;
  if (command.length > 0) [options.workerCommand, options.workerCommandSource] = [command, 'flag (after --)'];
  else if (flags.workerCommand !== undefined) [options.workerCommand, options.workerCommandSource] = [splitCommand(flags.workerCommand, '--worker-command'), 'flag (--worker-command)'];
  else if (envCmd) [options.workerCommand, options.workerCommandSource] = [splitCommand(envCmd, 'KUBIYA_WORKER_COMMAND'), 'env (KUBIYA_WORKER_COMMAND)'];
  else if (context?.workerCommand?.trim()) [options.workerCommand, options.workerCommandSource] = [splitCommand(context.workerCommand, `context "${context.name}" worker-command`), `context (${context.name})`];

  const plan = await resolveProxyPlan({
    queueId,
    flags: {
      enableLocalProxy,
      proxyConfigFile: flags.proxyConfigFile,
      proxyConfigJson: flags.proxyConfigJson,
      model: flags.model,
      controlPlaneUrl: flags.controlPlaneUrl,
      apiKey: flags.apiKey,
      gatewayUrl: flags.gatewayUrl,
      proxyTimeoutSeconds,
    },
    context,
    contextFile: cfg.path,
    timeoutMs: controlPlaneTimeoutMs(),
  });

  if (plan.mode === 'local-proxy' && plan.config) await checkServable(plan, !flags.dryRun);

  if (flags.dryRun) {
    const { planReport, formatPlanText } = await import('../../../config/explain.js');
    const { maskText } = await import('../../../config/litellm/secrets.js');
    const report = planReport(plan, options);
    const text = outputMode === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatPlanText(report);
    process.stdout.write(maskText(text, [plan.apiKey, ...(plan.config?.secretValues ?? [])]));
    return 0;
  }
  const { maskText } = await import('../../../config/litellm/secrets.js');
  const secrets = [plan.apiKey, ...(plan.config?.secretValues ?? [])];
  for (const w of plan.warnings) warn(maskText(w, secrets));
  const { runWorker } = await import('../../../supervisor/run.js');
  return runWorker(plan, options);
}

/**
 * Ask the engine's own route table what the config can serve (providers, credentials, api_base),
 * so neither the dry run nor a real start promises models the proxy would answer with errors.
 */
async function checkServable(plan: ProxyPlan, failWhenNone: boolean): Promise<void> {
  const loaded = plan.config!;
  const { buildRouteTable } = await import('../../../engine/router/table.js');
  const table = await buildRouteTable(loaded, process.env);
  const already = new Set(loaded.warnings.map((w) => `${w.path}: ${w.message}`));
  const fresh = table.warnings.filter((w) => !already.has(`${w.path}: ${w.message}`));
  for (const w of fresh) plan.warnings.push(`${loaded.source}: ${w.path}: ${w.message}`);
  plan.servedModels = [...new Set(table.deployments.map((d) => d.modelName))];
  if (plan.servedModels.length > 0) return;
  const why = fresh.length > 0 ? `:\n${fresh.map((w) => `  ${w.path}: ${w.message}`).join('\n')}` : ' (its model_list is empty)';
  if (failWhenNone) throw new UserError(`${loaded.source}: the local proxy would serve no model${why}`, { hint: 'Check the config with: kubiya proxy validate <file>' });
  plan.warnings.push(`${loaded.source}: the local proxy would serve no model`);
}
