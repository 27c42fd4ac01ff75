/**
 * The Kubiya worker asks for `kubiya/...` model ids (an agent's model, else its default `kubiya/claude-sonnet-4`).
 * The templates map them to local models (a `kubiya/*` wildcard, a model_group_alias), the engine serves them
 * through that mapping, and `worker start --dry-run` says which group serves the default or warns how to map it.
 */
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, inspectConfig, startEngine } from '../../src/engine/index.js';
import { cliInProcess, ROOT, testEnv, testHome } from './worker-helpers.js';

const template = (name: string) => path.join(ROOT, 'templates', name);
const load = (file: string) => loadLiteLLMConfig({ kind: 'file', path: file }, { env: {} });

let engine: EngineHandle | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('kubiya/ model ids', () => {
  it('templates/mock.yaml serves kubiya/claude-sonnet-4 and any other kubiya/ id', async () => {
    const logger = createLogger({ level: 'error', secrets: [], write: () => undefined });
    engine = await startEngine({ loaded: load(template('mock.yaml')), port: 0, logger, env: {} });
    const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'none', maxRetries: 0 });
    for (const model of ['kubiya/claude-sonnet-4', 'kubiya/gpt-4o']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0].message.content).toBe('Hello from the kubiya mock proxy.');
    }
    // a name outside the mapping is still refused: the wildcard covers kubiya/ ids only
    await expect(
      client.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('templates/multi-provider.yaml routes the default kubiya/ id to its "smart" group by an alias', async () => {
    const seen = await inspectConfig(load(template('multi-provider.yaml')), {});
    expect(seen.routeOf('kubiya/claude-sonnet-4')).toBe('smart');
  });

  it.for([
    ['mock.yaml', 'kubiya/*'],
    ['multi-provider.yaml', 'smart'],
  ])('worker start --dry-run with templates/%s names the group serving the default', async ([file, group], ctx) => {
    const h = testHome(ctx.onTestFinished);
    const env = testEnv(h, { KUBIYA_PYTHON: '/bin/false', KUBIYA_API_KEY: 'kb-test' }); // never a real venv or pip
    const args = ['worker', 'start', '--queue-id=k', '--enable-local-proxy', '--proxy-config-file', template(file)];
    const r = await cliInProcess([...args, '--control-plane-url', 'http://127.0.0.1:1', '--dry-run'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`the Kubiya worker's default model kubiya/claude-sonnet-4 is served by "${group}"`);
    expect(r.stdout + r.stderr).not.toContain('the config serves neither');
  });
});
