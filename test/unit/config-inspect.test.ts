import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { inspectConfig } from '../../src/engine/index.js';

const load = (config: Record<string, unknown>) =>
  loadLiteLLMConfig({ kind: 'object', value: config, label: 'cfg' }, { env: {} });

describe('inspectConfig: what the engine would serve, through the engine front door', () => {
  it('lists servable deployments and aliases, and says with key paths why the others are not served', async () => {
    const loaded = load({
      model_list: [
        { model_name: 'ok', litellm_params: { model: 'openai/ok', mock_response: 'fine' } },
        { model_name: 'broken', litellm_params: { model: 'azure/broken' } },
        { model_name: 'local', litellm_params: { model: 'ollama/llama3', api_base: 'http://127.0.0.1:1' } },
      ],
      router_settings: { model_group_alias: { big: 'local', gone: 'nowhere' } },
    });
    const seen = await inspectConfig(loaded, {});
    expect(seen.source).toBe('cfg');
    expect(seen.servedModels).toEqual(['ok', 'local']);
    expect(seen.deployments.map((d) => [d.modelName, d.mock, d.path])).toEqual([
      ['ok', true, 'model_list[0]'],
      ['local', false, 'model_list[2]'],
    ]);
    expect(seen.deployments[1]).toMatchObject({ provider: 'ollama', apiBase: 'http://127.0.0.1:1' });
    expect(seen.aliases).toEqual([{ alias: 'big', target: 'local', hidden: false }]);
    expect(seen.unserved).toHaveLength(1);
    expect(seen.unserved[0]).toMatchObject({ path: 'model_list[1]', modelName: 'broken' });
    expect(seen.unserved[0].reasons.map((r) => r.message).join('\n')).toMatch(/Azure needs the resource endpoint/);
    expect(seen.routeWarnings.map((w) => w.path)).toContain('router_settings.model_group_alias.gone');
  });

  it('does not repeat the loader warnings among the route warnings, and keeps every warning once', async () => {
    const loaded = load({
      model_list: [{ model_name: 'm', litellm_params: { model: 'openai/m', mock_response: 'x' } }],
      litellm_settings: { callbacks: ['x'] },
    });
    const seen = await inspectConfig(loaded, {});
    expect(loaded.warnings.map((w) => w.path)).toContain('litellm_settings.callbacks');
    expect(seen.routeWarnings.map((w) => w.path)).not.toContain('litellm_settings.callbacks');
    const keys = seen.warnings.map((w) => `${w.path}: ${w.message}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain(
      `litellm_settings.callbacks: ${loaded.warnings.find((w) => w.path === 'litellm_settings.callbacks')!.message}`,
    );
  });
});
