import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { buildRouteTable } from '../../src/engine/router/table.js';

const CONFIG = `model_list:
  - model_name: tools
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-test
      tool_choice: auto
      parallel_tool_calls: false
      logit_bias: {"50256": -100}
      temperature: 0.2
`;

describe('OpenAI params in litellm_params', () => {
  it('are known keys (no warning) and become defaults under every request', async () => {
    const loaded = loadLiteLLMConfig({ kind: 'text', label: 'cfg.yaml', text: CONFIG }, { env: {} });
    expect(loaded.warnings).toEqual([]);
    const table = await buildRouteTable(loaded, {});
    expect(table.warnings).toEqual([]);
    expect(table.deployments[0].defaults).toEqual({
      tool_choice: 'auto',
      parallel_tool_calls: false,
      logit_bias: { '50256': -100 },
      temperature: 0.2,
    });
  });
});

describe('provider keys in litellm_params', () => {
  it("Vertex's vertex_ai_project / vertex_ai_location spellings are known (the adapter reads them)", () => {
    const text = [
      'model_list:',
      '  - model_name: g',
      '    litellm_params:',
      '      model: vertex_ai/gemini-2.0-flash',
      '      vertex_ai_project: my-project',
      '      vertex_ai_location: europe-west4',
      '',
    ].join('\n');
    const loaded = loadLiteLLMConfig({ kind: 'text', label: 'cfg.yaml', text }, { env: {} });
    expect(loaded.warnings).toEqual([]);
  });
});
