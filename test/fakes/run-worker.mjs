#!/usr/bin/env node
// Drives the supervisor's runWorker() the way `kubiya worker start` does, for tests that must not
// depend on the start command's flag resolution:
//   node run-worker.mjs --queue-id Q --config FILE [--daemon] [--grace S] [--max-log-size B]
//                       [--max-log-backups N] [--gateway URL] [--model M] [--api-key K] -- cmd args...
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { runWorker } = await import(path.join(root, 'dist/supervisor/run.js'));
const { loadLiteLLMConfig } = await import(path.join(root, 'dist/config/litellm/load.js'));

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const flags = dd >= 0 ? argv.slice(0, dd) : argv;
const command = dd >= 0 ? argv.slice(dd + 1) : undefined;
const get = (n) => {
  const i = flags.indexOf(n);
  return i >= 0 ? flags[i + 1] : undefined;
};
const gateway = get('--gateway');
const plan = {
  queueId: get('--queue-id'),
  mode: gateway ? 'gateway' : 'local-proxy',
  config: gateway ? undefined : loadLiteLLMConfig({ kind: 'file', path: get('--config') }),
  gatewayUrl: gateway,
  model: get('--model'),
  proxyTimeoutSeconds: Number(get('--timeout') ?? 30),
  proxyMaxRetries: 3,
  controlPlaneUrl: 'http://127.0.0.1:9',
  apiKey: get('--api-key'),
  origins: {},
  warnings: [],
};
const options = {
  daemon: flags.includes('--daemon'),
  workerCommand: command,
  maxLogSizeBytes: Number(get('--max-log-size') ?? 10 * 1024 * 1024),
  maxLogBackups: Number(get('--max-log-backups') ?? 3),
  graceSeconds: Number(get('--grace') ?? 2),
  localWheel: get('--local-wheel'),
};
try {
  process.exitCode = await runWorker(plan, options);
} catch (e) {
  process.stderr.write(`error: ${e.message}\n${e.hint ? `${e.hint}\n` : ''}`);
  process.exitCode = e.exitCode ?? 70;
}
