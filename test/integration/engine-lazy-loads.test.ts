/**
 * `proxy start` loads what its config uses and nothing else (issue 18: provider SDKs, tokenizers, drivers only
 * when a config needs them): the engine runs as a user runs it (bin/kubiya.js), with a preload that records
 * every module it loads (test/fakes/record-loads.mjs), through readiness and a request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/kubiya.js');
const RECORDER = path.join(ROOT, 'test/fakes/record-loads.mjs');
// what a mock_response config never needs: provider SDKs, the tokenizer, stores and their drivers, sinks, the HTTP
// client of upstream calls
const HEAVY = new RegExp(
  [
    '@aws-sdk|@aws-crypto|@smithy|google-auth-library|js-tiktoken',
    'prom-client|@opentelemetry|ioredis|better-sqlite3|kysely|node_modules/pg/|undici',
  ].join('|'),
);

let tmp: TempHome;
let up: FakeUpstream;
beforeAll(async () => {
  [tmp, up] = [makeTempHome('kubiya-lazy-loads-'), await startOpenAIUpstream()];
});
afterAll(async () => {
  await up?.close();
  tmp?.cleanup();
});

/** Start the engine on `config`, wait for readiness, send one chat completion to `model`; the loads, one a line. */
async function loadsOf(name: string, config: string, model: string): Promise<string[]> {
  const cfg = tmp.write(`${name}.yaml`, config);
  const log = tmp.path(`${name}.loads`);
  const portFile = tmp.path(`${name}.port`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...tmp.env(), KUBIYA_TEST_LOAD_LOG: log, UP_KEY: 'sk-up-1' };
  for (const k of ['LITELLM_MASTER_KEY', 'DATABASE_URL', 'REDIS_HOST', 'REDIS_URL']) delete env[k];
  const child = spawn(
    process.execPath,
    ['--import', RECORDER, BIN, 'proxy', 'start', '--config', cfg, '--port', '0', '--port-file', portFile],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    await serveOne(child, portFile, model);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** Wait for the engine's port file and readiness, send one chat completion, stop it (SIGTERM) and wait. */
async function serveOne(child: ChildProcess, portFile: string, model: string): Promise<void> {
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null) throw new Error(`engine exited ${child.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`engine not ready in 30 s: ${err}`);
    try {
      url = (JSON.parse(fs.readFileSync(portFile, 'utf8')) as { url: string }).url;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  expect((await fetch(`${url}/health/readiness`)).status).toBe(200);
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('proxy start loads only what its config uses', () => {
  it('the mock config: no provider SDK, tokenizer, store driver, sink or upstream HTTP client', async () => {
    const config = fs.readFileSync(path.join(ROOT, 'templates/mock.yaml'), 'utf8');
    const loads = await loadsOf('mock', config, 'mock');
    // the recorder saw the program itself, so an empty list below means nothing heavy, not nothing recorded
    expect(loads.some((l) => l.includes('dist/bundle/main.js'))).toBe(true);
    expect(loads.filter((l) => HEAVY.test(l))).toEqual([]);
  }, 60_000);

  it('a config that calls an upstream and turns on the prometheus callback loads undici and prom-client', async () => {
    const config = [
      'model_list:',
      '  - model_name: m',
      `    litellm_params: {model: openai/m, api_base: "${up.url}", api_key: os.environ/UP_KEY}`,
      'litellm_settings:',
      '  callbacks: ["prometheus"]',
      '',
    ].join('\n');
    const loads = await loadsOf('upstream', config, 'm');
    expect(loads.some((l) => /undici/.test(l))).toBe(true);
    expect(loads.some((l) => /prom-client/.test(l))).toBe(true);
    // still no SDK of a provider this config does not name
    expect(loads.filter((l) => /@aws-sdk|google-auth-library|js-tiktoken|ioredis|better-sqlite3/.test(l))).toEqual([]);
  }, 60_000);
});
