import { type CommandGroup, defineCommand, examplesBlock } from '../../command.js';
import type { LogsOpts, StopOpts } from './manage.js';
import type { StartFlags } from './start.js';

const RESOLUTION = `Where the worker's LLM settings come from (a higher level wins, setting by setting):
  1. flags     --enable-local-proxy, --proxy-config-file, --proxy-config-json, --model
  2. env       KUBIYA_ENABLE_LOCAL_PROXY, KUBIYA_PROXY_CONFIG_FILE, KUBIYA_PROXY_CONFIG_JSON, KUBIYA_MODEL
  3. context   litellm-proxy block of the current context (~/.kubiya/config, KUBIYA_CONTEXT)
  4. queue     the queue's settings from the control plane (needs an API key)
  5. gateway   no local proxy: the worker uses the LLM gateway with your API key`;

const PACKAGES = `The default worker (no worker command) is kubiya-control-plane-api[worker] in the queue's venv
(~/.kubiya/workers/ID/venv), made with KUBIYA_PYTHON or python3 (3.8+ with venv; missing: exit 69 with the
command that installs it here). Its package, flags first, then the environment (two at one level: an error):
  --package-source   KUBIYA_WORKER_PACKAGE_SOURCE   0.5.0 | ">=0.3.0" | ./dist/x.whl | x.tar.gz |
                                                    git+https://host/repo.git@ref | owner/repo@ref
  --package-version  KUBIYA_WORKER_PACKAGE_VERSION  0.5.0 | ">=0.3.0"
  --local-wheel      KUBIYA_WORKER_LOCAL_WHEEL      ./dist/x.whl | a project directory with dist/
Each start looks for a newer package (pip install --upgrade; pip's own index settings and PIP_* apply);
--no-update starts the installed one. The version is printed and shown by worker status and the worker page.`;

const manage = () => import('./manage.js');

/** `kubiya worker ...`: start (resolution, dry-run) and stop/status/logs/list, plus the daemon's hidden entry. */
export const workerCommands: CommandGroup = {
  name: 'worker',
  description: 'Run and manage workers, each behind its own local LLM proxy',
  helpText: examplesBlock([
    'kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml --dry-run',
    'kubiya worker start --queue-id q1 --enable-local-proxy -d',
    'kubiya worker status',
    'kubiya worker logs --queue-id q1 -f',
    'kubiya worker stop --queue-id q1',
  ]),
  commands: [
    defineCommand<StartFlags, [string[]]>({
      name: 'start',
      description: 'Start a worker for a queue, behind a local LLM proxy or the LLM gateway',
      args: [{ name: '[command...]', description: 'worker command after "--" (default: the queue venv\'s worker)' }],
      options: [
        { flags: '--queue-id <id>', description: 'the worker queue id (letters, digits, . _ -)', required: true },
        {
          flags: '--type <type>',
          description:
            'where the worker runs: local (a process here) or docker (a container, through the Docker Engine API at ' +
            'DOCKER_HOST, default unix:///var/run/docker.sock; the proxy listens on the bridge gateway, key required)',
          choices: ['local', 'docker'],
          default: 'local',
        },
        {
          flags: '--image <image>',
          description: '--type docker: the worker image (default ghcr.io/kubiyabot/agent-worker)',
        },
        { flags: '--image-tag <tag>', description: '--type docker: the image tag (default latest)' },
        { flags: '--pull', description: '--type docker: pull image:tag before starting (the default)' },
        { flags: '--no-pull', description: '--type docker: use the image already on the Docker engine' },
        { flags: '--enable-local-proxy', description: 'run the bundled LLM proxy for this worker' },
        { flags: '--no-enable-local-proxy', description: 'do not run the local proxy (use the LLM gateway)' },
        { flags: '--disable-local-proxy', description: 'same as --no-enable-local-proxy' },
        { flags: '--proxy-config-file <file>', description: 'LiteLLM config file (YAML or JSON)' },
        {
          flags: '--proxy-config-json <json>',
          description:
            'LiteLLM config as inline JSON (visible to every local user in ps while the command runs: ' +
            'keep keys out of it with os.environ/NAME, or use --proxy-config-file)',
        },
        { flags: '--model <model>', description: 'default model for the worker' },
        {
          flags: '--control-plane-url <url>',
          description: 'control plane URL (default https://control-plane.kubiya.ai)',
        },
        {
          flags: '--api-key <key>',
          description: 'Kubiya API key (prefer KUBIYA_API_KEY or a context token: flags show in ps)',
        },
        {
          flags: '--gateway-url <url>',
          description: 'LLM gateway URL when no local proxy runs (default https://llm-proxy.kubiya.ai)',
        },
        {
          flags: '--proxy-timeout <s>',
          description:
            'seconds to wait for the local proxy to become ready ' +
            "(default: the queue's local_proxy_timeout_seconds, else 30)",
        },
        { flags: '-d, --daemon', description: 'run in the background (see kubiya worker status|logs|stop)' },
        { flags: '--worker-command <cmd>', description: 'worker command line (quoted); "-- cmd args" wins over it' },
        {
          flags: '--package-source <src>',
          description:
            'the default worker\'s package: a version (0.5.0), a specifier (">=0.3.0"), a wheel or sdist ' +
            '(./dist/x.whl), a git URL (git+https://github.com/org/repo.git@main) or GitHub owner/repo@ref ' +
            '(env KUBIYA_WORKER_PACKAGE_SOURCE)',
        },
        {
          flags: '--package-version <version>',
          description:
            'the default worker\'s package version or specifier, e.g. 0.5.0 or ">=0.3.0" ' +
            '(env KUBIYA_WORKER_PACKAGE_VERSION)',
        },
        {
          flags: '--local-wheel <file>',
          description:
            'install the default worker from a wheel, e.g. ./dist/kubiya_control_plane_api-0.5.0-py3-none-any.whl, ' +
            "or a project directory (its dist/'s newest wheel) (env KUBIYA_WORKER_LOCAL_WHEEL)",
        },
        {
          flags: '--no-update',
          description:
            "start the package the queue's venv already has, without looking for a newer one " +
            '(e.g. offline: kubiya worker start --queue-id q1 --no-update)',
        },
        {
          flags: '--no-cache',
          description:
            "clear pip's cache (pip cache purge) before installing the worker package " +
            '(e.g. after a broken download: kubiya worker start --queue-id q1 --no-cache)',
        },
        { flags: '--max-log-size <size>', description: 'rotate logs at this size (10KB, 5MB, 1GB)', default: '100MB' },
        { flags: '--max-log-backups <n>', description: 'rotated log files to keep', default: '5' },
        {
          flags: '--grace <s>',
          description: 'seconds the worker gets to exit after SIGTERM before SIGKILL',
          default: '30',
        },
        {
          flags: '--drain-timeout <s>',
          description:
            'seconds the proxy may finish in-flight requests and streams after a stop before it is killed ' +
            '(default 30); `worker stop` waits for it',
        },
        {
          flags: '--single-execution',
          description:
            'run the worker for one task (it gets SINGLE_EXECUTION=true), never restart it, and exit with its code ' +
            '(ephemeral CI queues; env KUBIYA_SINGLE_EXECUTION=true)',
        },
        {
          flags: '-q, --quiet',
          description:
            "do not echo the worker's and the proxy's output (it still goes to worker.log / litellm_proxy.log); " +
            "only this command's own lines and errors (env KUBIYA_QUIET=true)",
        },
        {
          flags: '--skip-model-validation',
          description:
            'start even when --model (KUBIYA_MODEL, the context model) is not a model the local proxy serves ' +
            '(offline or testing; env KUBIYA_SKIP_MODEL_VALIDATION=true)',
        },
        {
          flags: '--webui-port <port>',
          description:
            "port of the worker's web page on 127.0.0.1 (status, models, usage, live logs; its URL with a per-run " +
            'token is printed at start); default: a free port (env KUBIYA_WEBUI_PORT)',
        },
        { flags: '--no-webui', description: 'no worker web page (env KUBIYA_NO_WEBUI=true)' },
        {
          flags: '--auto-update',
          description:
            "check the queue's config and the worker package every --update-check-interval: a new proxy config is " +
            'reloaded by the running proxy (same URL and key), a new package is installed and the worker restarted ' +
            'gracefully; a failed update keeps what runs (env KUBIYA_AUTO_UPDATE=true)',
        },
        {
          flags: '--update-check-interval <duration>',
          description: 'how often --auto-update checks: 30s, 5m, 1h (default 5m; env KUBIYA_UPDATE_CHECK_INTERVAL)',
        },
        { flags: '--dry-run', description: 'print the resolved plan and start nothing' },
      ],
      output: 'text or json (with --dry-run)',
      notes: `${RESOLUTION}\n\n${PACKAGES}`,
      examples: [
        'kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml --dry-run',
        'kubiya worker start --queue-id q1 --enable-local-proxy --model gpt-4o -d',
        'kubiya worker start --queue-id q1 --dry-run --output json',
        'kubiya worker start --queue-id q1 -- python -m my_worker --verbose',
        'kubiya worker start --queue-id ci-123 --proxy-config-file ./litellm.yaml --single-execution --quiet',
        'kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml --webui-port 8088',
        'kubiya worker start --queue-id prod -d --auto-update --update-check-interval 10m',
        'kubiya worker start --queue-id q1 --package-source 0.5.0',
        'kubiya worker start --queue-id q1 --package-source kubiyabot/control-plane-api@main',
        'kubiya worker start --queue-id q1 --package-source ./dist/kubiya_control_plane_api-0.5.0-py3-none-any.whl',
        'kubiya worker start --queue-id q1 --no-update -d',
        'kubiya worker start --queue-id q1 --type docker --proxy-config-file ./litellm.yaml -d',
        'kubiya worker start --queue-id q1 --type docker --image-tag 0.5.0 --no-pull -- python -m my_worker',
      ],
      handler: async () => (await import('./start.js')).workerStart,
    }),
    defineCommand<StopOpts>({
      name: 'stop',
      description:
        "Stop a queue's worker and its proxy (worker first, then the proxy drains); prints what the queue used",
      options: [
        { flags: '--queue-id <id>', description: 'the queue to stop', required: true },
        { flags: '--force', description: 'kill the supervisor, worker and proxy at once (SIGKILL)', default: false },
        {
          flags: '--timeout <seconds>',
          description:
            'how long to wait for an orderly stop before killing what is left ' +
            "(default: the queue's --grace plus --drain-timeout plus 5 s)",
        },
      ],
      examples: [
        'kubiya worker stop --queue-id prod',
        'kubiya worker stop --queue-id prod --timeout 60',
        'kubiya worker stop --queue-id prod --force',
      ],
      handler: async () => (await manage()).workerStop,
    }),
    defineCommand<{ queueId?: string }>({
      name: 'status',
      description:
        'Show whether queues are running: pids, uptime, proxy URL and health, restarts, log sizes, ' +
        'and requests, tokens and cost since the engine started',
      options: [{ flags: '--queue-id <id>', description: 'one queue (default: every queue)' }],
      output: 'text or json',
      examples: ['kubiya worker status --queue-id prod', 'kubiya worker status --output json'],
      handler: async () => (await manage()).workerStatus,
    }),
    defineCommand<LogsOpts>({
      name: 'logs',
      description: "Print or follow a queue's worker log (or its proxy log)",
      options: [
        { flags: '--queue-id <id>', description: 'the queue', required: true },
        { flags: '-f, --follow', description: 'keep printing new lines (Ctrl-C to stop)', default: false },
        {
          flags: '--proxy',
          description: 'the proxy log (litellm_proxy.log) instead of the worker log',
          default: false,
        },
        { flags: '-n, --lines <n>', description: 'how many lines from the end', default: '100' },
      ],
      examples: [
        'kubiya worker logs --queue-id prod -n 20',
        'kubiya worker logs --queue-id prod -f',
        'kubiya worker logs --queue-id prod --proxy -f',
      ],
      handler: async () => (await manage()).workerLogs,
    }),
    defineCommand({
      name: 'list',
      description: 'List every queue directory in ~/.kubiya/workers and its state',
      output: 'text or json',
      examples: ['kubiya worker list', 'kubiya worker list -o json'],
      handler: async () => (await manage()).workerList,
    }),
    defineCommand<{ dryRun?: boolean }>({
      name: 'prune',
      description:
        'Remove the directories of stopped queues (logs, config snapshot, venv); see what goes with --dry-run',
      options: [{ flags: '--dry-run', description: 'list what would be removed and remove nothing' }],
      notes: 'Running queues and stale ones (a pid file left by a crash: `kubiya worker stop` cleans them) are kept.',
      examples: ['kubiya worker prune --dry-run', 'kubiya worker prune'],
      handler: async () => (await manage()).workerPrune,
    }),
    defineCommand<{ queueId: string; plan: string }>({
      name: '__supervise',
      description: 'internal: the detached supervisor started by `worker start --daemon`',
      options: [
        { flags: '--queue-id <id>', required: true },
        { flags: '--plan <token>', description: 'which supervisor-plan.<token>.json to read', required: true },
      ],
      hidden: true,
      handler: async () => (await manage()).supervise,
    }),
  ],
};
