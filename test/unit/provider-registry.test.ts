import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LITELLM_PARAMS } from '../../src/config/litellm/keys.js';
import { isSecretKey } from '../../src/config/litellm/secrets.js';
import {
  isProviderId,
  loadAdapter,
  PROVIDER_IDS,
  providerFacts,
  providerParamKeys,
  providersWith,
} from '../../src/engine/providers/registry.js';
import { splitProvider } from '../../src/engine/providers/resolve.js';
import { OTHER_LITELLM_PROVIDERS } from '../../src/engine/providers/unsupported.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// [litellm model, custom_llm_provider, provider, model after the prefix]
const RESOLUTION: [string, string | undefined, string, string][] = [
  // prefixed: the prefix is the provider, the rest (slashes included) the model
  ['groq/llama3-8b', undefined, 'groq', 'llama3-8b'],
  ['hosted_vllm/meta-llama/Llama-3', undefined, 'hosted_vllm', 'meta-llama/Llama-3'],
  ['ollama/llama3', undefined, 'ollama', 'llama3'],
  ['ollama_chat/llama3:8b', undefined, 'ollama_chat', 'llama3:8b'],
  ['cohere_chat/command-r', undefined, 'cohere_chat', 'command-r'],
  ['azure/my-gpt4o', undefined, 'azure', 'my-gpt4o'],
  ['azure_ai/Llama-3.3-70B', undefined, 'azure_ai', 'Llama-3.3-70B'],
  ['bedrock/anthropic.claude-3-haiku-20240307-v1:0', undefined, 'bedrock', 'anthropic.claude-3-haiku-20240307-v1:0'],
  ['vertex_ai/gemini-1.5-pro', undefined, 'vertex_ai', 'gemini-1.5-pro'],
  ['gemini/gemini-2.0-flash', undefined, 'gemini', 'gemini-2.0-flash'],
  ['huggingface/meta-llama/Llama-3.1-8B-Instruct', undefined, 'huggingface', 'meta-llama/Llama-3.1-8B-Instruct'],
  ['openai/claude-3-haiku', undefined, 'openai', 'claude-3-haiku'],
  ['replicate/meta/llama-3', undefined, 'replicate', 'meta/llama-3'],
  ['nope/x', undefined, 'nope', 'x'],
  // bare names: the families LiteLLM resolves without a prefix, OpenAI otherwise
  ['gpt-4o', undefined, 'openai', 'gpt-4o'],
  ['gpt-4.1-mini', undefined, 'openai', 'gpt-4.1-mini'],
  ['o3-mini', undefined, 'openai', 'o3-mini'],
  ['text-embedding-3-small', undefined, 'openai', 'text-embedding-3-small'],
  ['claude-3-5-sonnet-20241022', undefined, 'anthropic', 'claude-3-5-sonnet-20241022'],
  ['claude', undefined, 'openai', 'claude'],
  ['anthropic.claude-3-sonnet-20240229-v1:0', undefined, 'bedrock', 'anthropic.claude-3-sonnet-20240229-v1:0'],
  ['us.anthropic.claude-3-5-sonnet-v2:0', undefined, 'bedrock', 'us.anthropic.claude-3-5-sonnet-v2:0'],
  ['us-gov.meta.llama3-8b-instruct-v1:0', undefined, 'bedrock', 'us-gov.meta.llama3-8b-instruct-v1:0'],
  ['apac.amazon.nova-pro-v1:0', undefined, 'bedrock', 'apac.amazon.nova-pro-v1:0'],
  ['amazon.titan-embed-text-v2:0', undefined, 'bedrock', 'amazon.titan-embed-text-v2:0'],
  ['cohere.command-r-plus-v1:0', undefined, 'bedrock', 'cohere.command-r-plus-v1:0'],
  ['mistral.mistral-large-2402-v1:0', undefined, 'bedrock', 'mistral.mistral-large-2402-v1:0'],
  ['eu.mistral.pixtral-large-2502-v1:0', undefined, 'bedrock', 'eu.mistral.pixtral-large-2502-v1:0'],
  ['xx.anthropic.claude-3', undefined, 'openai', 'xx.anthropic.claude-3'],
  ['gemini-1.5-pro', undefined, 'vertex_ai', 'gemini-1.5-pro'],
  ['textembedding-gecko-multilingual@001', undefined, 'vertex_ai', 'textembedding-gecko-multilingual@001'],
  ['text-multilingual-embedding-002', undefined, 'vertex_ai', 'text-multilingual-embedding-002'],
  ['text-embedding-004', undefined, 'vertex_ai', 'text-embedding-004'],
  ['chat-bison@002', undefined, 'vertex_ai', 'chat-bison@002'],
  ['codechat-bison', undefined, 'vertex_ai', 'codechat-bison'],
  ['command-r-plus', undefined, 'cohere', 'command-r-plus'],
  ['command', undefined, 'cohere', 'command'],
  ['commander', undefined, 'openai', 'commander'],
  // custom_llm_provider wins over the prefix and the bare-name families
  ['my-model', 'openai', 'openai', 'my-model'],
  ['claude-3-haiku', 'openai', 'openai', 'claude-3-haiku'],
  ['azure/gpt-4o', 'azure', 'azure', 'gpt-4o'],
  ['gpt-4o', 'azure', 'azure', 'gpt-4o'],
  ['ollama/llama3', 'ollama_chat', 'ollama_chat', 'ollama/llama3'],
  ['llama3', 'sagemaker', 'sagemaker', 'llama3'],
  ['groq/llama3', '', 'groq', 'llama3'],
];

describe('model string resolution', () => {
  it.each(RESOLUTION)('%s (custom_llm_provider %s) -> %s / %s', (model, custom, provider, rest) => {
    expect(splitProvider(model, custom)).toEqual({ provider, model: rest });
  });

  it('lets at most one provider claim a bare name', () => {
    const bare = PROVIDER_IDS.flatMap((id) => (providerFacts(id).bareModels ? [providerFacts(id).bareModels!] : []));
    expect(bare.length).toBeGreaterThanOrEqual(4);
    for (const [model, custom] of RESOLUTION) {
      if (custom !== undefined || model.includes('/')) continue;
      expect(bare.filter((re) => re.test(model)).length).toBeLessThanOrEqual(1);
    }
  });
});

describe('provider registry', () => {
  it('loads an adapter for every served id, and that adapter serves that id', async () => {
    expect(PROVIDER_IDS.length).toBeGreaterThanOrEqual(22);
    for (const id of PROVIDER_IDS) {
      expect(isProviderId(id)).toBe(true);
      expect(providerFacts(id)).toBeTypeOf('object');
      const adapter = await loadAdapter(id);
      expect(adapter?.id).toBe(id);
      expect(loadAdapter(id)).toBe(loadAdapter(id)); // loaded once, then cached
    }
  });

  it('knows no served provider as unsupported, and nothing else as served', () => {
    for (const id of PROVIDER_IDS) expect(OTHER_LITELLM_PROVIDERS.has(id)).toBe(false);
    for (const id of OTHER_LITELLM_PROVIDERS) expect(isProviderId(id)).toBe(false);
    for (const p of [undefined, '', 'constructor', 'toString', 'OpenAI', 'vllm']) expect(isProviderId(p)).toBe(false);
  });

  it('keeps top_k for the providers that take it', () => {
    expect([...providersWith('topK')].sort()).toEqual([
      'anthropic',
      'bedrock',
      'cohere',
      'cohere_chat',
      'gemini',
      'hosted_vllm',
      'huggingface',
      'ollama',
      'ollama_chat',
      'vertex_ai',
    ]);
  });

  it('accepts every provider credential key in litellm_params, once', () => {
    const supported = LITELLM_PARAMS.supported;
    expect(new Set(supported).size).toBe(supported.length);
    for (const k of providerParamKeys()) expect(supported).toContain(k);
    const known = [
      'aws_secret_access_key',
      'aws_bedrock_runtime_endpoint',
      'region_name',
      'azure_ad_token',
      'tenant_id',
      'client_secret',
      'vertex_project',
      'vertex_credentials',
      'anthropic_version',
    ];
    for (const k of known) expect(supported).toContain(k);
  });

  it('declares credentials among its params, and masking recognises each one', () => {
    for (const id of PROVIDER_IDS) {
      const f = providerFacts(id);
      for (const k of f.secretParams ?? []) {
        expect(f.params).toContain(k);
        expect(isSecretKey(k), `${id}: ${k}`).toBe(true);
      }
    }
  });
});

// static imports (not `import type`, not `import()`) of one module, as repository paths
function staticImports(file: string): string[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const fromClause = /^\s*(?:import|export)\s+(?!type\s)[^;'"]*?from\s+['"]([^'"]+)['"]/gm;
  const bare = /^\s*import\s+['"]([^'"]+)['"]/gm;
  const specs = [...src.matchAll(fromClause), ...src.matchAll(bare)].map((m) => m[1]);
  const toPath = (s: string) => relative(ROOT, resolve(ROOT, dirname(file), s.replace(/\.js$/, '.ts')));
  return specs.map((s) => (s.startsWith('.') ? toPath(s) : s));
}

function importClosure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.startsWith('src/')) todo.push(...staticImports(f));
  }
  return seen;
}

describe('provider facts stay light', () => {
  it('reads no adapter, SDK or package when config loading, the CLI or a request reads the facts', () => {
    const closure = importClosure([
      'src/engine/providers/registry.ts',
      'src/engine/providers/resolve.ts',
      'src/engine/providers/unsupported.ts',
      'src/config/litellm/keys.ts',
    ]);
    expect(closure).toContain('src/engine/providers/bedrock/facts.ts');
    for (const f of closure) {
      expect(f.startsWith('src/') || f.startsWith('node:'), `${f} is a package`).toBe(true);
      const inFolder = /^src\/engine\/providers\/[^/]+\//.test(f);
      if (inFolder) expect(f.endsWith('/facts.ts'), `${f} is adapter code`).toBe(true);
    }
  });

  it('finds the adapters through lazy imports only', () => {
    const src = readFileSync(join(ROOT, 'src/engine/providers/registry.ts'), 'utf8');
    expect(src).toMatch(/import\('\.\/bedrock\/index\.js'\)/);
    expect(staticImports('src/engine/providers/registry.ts').filter((f) => !f.endsWith('/facts.ts'))).toEqual([]);
  });
});
