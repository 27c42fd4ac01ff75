import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { buildRouteTable } from '../../src/engine/router/table.js';

const table = (config: Record<string, unknown>) =>
  buildRouteTable(loadLiteLLMConfig({ kind: 'object', value: config, label: 'test' }, { env: {} }), {});
const dep = (name: string) => ({ model_name: name, litellm_params: { model: `openai/${name}`, mock_response: 'hi' } });

describe('fallback names checked at load time', () => {
  it('warns, with the key path, about fallbacks from or to groups the config does not serve', async () => {
    const t = await table({
      model_list: [
        dep('a'),
        dep('b'),
        { model_name: 'vllm/*', litellm_params: { model: 'hosted_vllm/*', api_base: 'http://127.0.0.1:1/v1' } },
      ],
      router_settings: {
        fallbacks: [{ a: ['b', 'typo-b'] }],
        context_window_fallbacks: [{ zz: ['a'] }],
        model_group_alias: { big: 'b' },
      },
      litellm_settings: { default_fallbacks: ['gone'], content_policy_fallbacks: [{ a: ['big', 'vllm/llama'] }] },
    });
    const w = t.warnings.map((x) => `${x.path}: ${x.message}`);
    expect(w).toContainEqual(
      expect.stringMatching(/^router_settings\.fallbacks\.a: fallback "typo-b" is not a model group/),
    );
    expect(w).toContainEqual(
      expect.stringMatching(/^router_settings\.context_window_fallbacks\.zz: "zz" is not a model group/),
    );
    expect(w).toContainEqual(expect.stringMatching(/^litellm_settings\.default_fallbacks: fallback "gone"/));
    // groups, aliases and wildcard matches are fine
    expect(w.join('\n')).not.toMatch(/"b"|"big"|vllm\/llama|"a"/);
  });
});
