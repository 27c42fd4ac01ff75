/**
 * The models the sink tests (Langfuse, OpenTelemetry) serve: `mocked` (mock_response), `gpt` (a fake
 * OpenAI upstream) and `main` falling back to `spare` (two fault upstreams), ids fixed for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function sinkModels(upstreamUrl: string, primaryBase: string, backupBase: string, apiKey: string) {
  const at = (model_name: string, model: string, api_base: string, id: string) => ({
    model_name,
    litellm_params: { model, api_base, api_key: apiKey },
    model_info: { id },
  });
  return [
    {
      model_name: 'mocked',
      litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' },
      model_info: { id: 'dep-mock' },
    },
    at('gpt', 'openai/gpt-4o', `${upstreamUrl}/v1`, 'dep-gpt'),
    at('main', 'openai/p-model', primaryBase, 'main-primary'),
    at('spare', 'openai/b-model', backupBase, 'spare-backup'),
  ];
}

/** `kubiya proxy start` on a YAML config in `dir`, port 0; resolves once it listens. Kill it in a finally. */
export async function startProxyCli(
  dir: string,
  yamlLines: string[],
  dropEnv: readonly string[],
): Promise<{ url: string; child: ChildProcess; exit: Promise<number | null>; output: () => string }> {
  const cfg = path.join(dir, 'config.yaml');
  const portFile = path.join(dir, 'engine.json');
  fs.writeFileSync(cfg, [...yamlLines, ''].join('\n'));
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/kubiya.js');
  const env = { ...process.env, NO_COLOR: '1' };
  for (const k of [...dropEnv, 'LITELLM_MASTER_KEY']) delete env[k];
  const child = spawn(
    process.execPath,
    [bin, 'proxy', 'start', '--config', cfg, '--port', '0', '--port-file', portFile],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!fs.existsSync(portFile) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 20));
  if (!fs.existsSync(portFile)) {
    child.kill('SIGKILL');
    throw new Error(`kubiya proxy start did not listen: ${out}`);
  }
  const { url } = JSON.parse(fs.readFileSync(portFile, 'utf8')) as { url: string };
  return { url, child, exit, output: () => out };
}
