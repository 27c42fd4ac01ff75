import { PROVIDER_IDS, providerFacts } from './registry.js';

// bare names LiteLLM resolves elsewhere, from the facts: `claude-*`, Bedrock ids, Vertex families, `command-*`
const BARE_RULES = PROVIDER_IDS.flatMap((id) => {
  const re = providerFacts(id).bareModels;
  return re ? [{ id, re }] : [];
});

/** The provider of a model named without a prefix: the provider whose facts claim it, else OpenAI. */
export function bareProvider(model: string): string {
  for (const r of BARE_RULES) if (r.re.test(model)) return r.id;
  return 'openai';
}

/** Which provider serves a litellm model string, and the model name after the prefix. */
export function splitProvider(model: string, custom?: string): { provider?: string; model: string } {
  if (custom) {
    return { provider: custom, model: model.startsWith(`${custom}/`) ? model.slice(custom.length + 1) : model };
  }
  const slash = model.indexOf('/');
  if (slash === -1) return { provider: bareProvider(model), model };
  return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
}
