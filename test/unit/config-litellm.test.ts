import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type ConfigSource, loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { ConfigError } from '../../src/errors.js';

const SAMPLE = {
  model_list: [
    {
      model_name: 'gpt-4',
      litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/OPENAI_KEY', timeout: 30, rpm: 100 },
    },
    {
      model_name: 'llama3',
      litellm_params: { model: 'ollama/llama3', api_base: 'http://localhost:11434' },
      model_info: { id: 'l1' },
    },
  ],
  router_settings: { routing_strategy: 'simple-shuffle', num_retries: 2, fallbacks: [{ 'gpt-4': ['llama3'] }] },
  litellm_settings: { drop_params: true, request_timeout: 60 },
  general_settings: { master_key: 'env:MASTER' },
  environment_variables: { MASTER: 'sk-master-from-config' },
};
const ENV = { OPENAI_KEY: 'sk-openai-secret-value' };

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-litellm-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function fail(source: ConfigSource, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadLiteLLMConfig(source, { env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('one loader for every source', () => {
  it('loads the same config identically from YAML, JSON, inline text, a mapping and a JSON string', () => {
    const sources: ConfigSource[] = [
      { kind: 'file', path: write('c.yaml', stringify(SAMPLE)) },
      { kind: 'file', path: write('c.json', JSON.stringify(SAMPLE, null, 2)) },
      { kind: 'file', path: write('json-in.yaml', JSON.stringify(SAMPLE)) },
      { kind: 'text', text: JSON.stringify(SAMPLE), label: '--proxy-config-json' },
      { kind: 'object', value: SAMPLE, label: 'queue settings' },
      { kind: 'object', value: JSON.stringify(SAMPLE), label: 'queue settings' },
    ];
    const results = sources.map((s) => loadLiteLLMConfig(s, { env: ENV }));
    for (const r of results) {
      expect(r.config.model_list.map((m) => m.model_name)).toEqual(['gpt-4', 'llama3']);
      expect(r.config).toEqual(results[0].config);
      expect(r.raw).toEqual(results[0].raw);
      expect(r.warnings).toEqual(results[0].warnings);
    }
  });

  it('resolves os.environ/VAR and env:VAR anywhere, environment_variables first', () => {
    const r = loadLiteLLMConfig({ kind: 'object', value: SAMPLE, label: 'x' }, { env: ENV });
    expect(r.config.model_list[0].litellm_params.api_key).toBe('sk-openai-secret-value');
    expect(r.config.general_settings.master_key).toBe('sk-master-from-config');
    expect(r.secretValues).toEqual(expect.arrayContaining(['sk-openai-secret-value', 'sk-master-from-config']));
    expect(r.environment).toEqual({ MASTER: 'sk-master-from-config' });
    // the raw form keeps references, so a snapshot never holds the secret
    expect(JSON.stringify(r.raw)).not.toContain('sk-openai-secret-value');
  });

  it('warns about an unset variable, naming it and the key path', () => {
    const r = loadLiteLLMConfig(
      { kind: 'object', value: { model_list: [SAMPLE.model_list[0]] }, label: 'x' },
      { env: {} },
    );
    expect(r.warnings).toContainEqual({
      path: 'model_list[0].litellm_params.api_key',
      message: 'refers to the environment variable OPENAI_KEY, which is not set',
    });
  });

  it('keeps unknown keys and warns with a did-you-mean', () => {
    const r = loadLiteLLMConfig(
      {
        kind: 'text',
        label: 't',
        text:
          'model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_bse: "http://x"}\n' +
          'router_setings: {}\n',
      },
      { env: {} },
    );
    expect(r.warnings).toContainEqual({
      path: 'router_setings',
      message: 'unknown key; did you mean "router_settings"?',
    });
    expect(r.warnings).toContainEqual({
      path: 'model_list[0].litellm_params.api_bse',
      message: 'unknown key; did you mean "api_base"?',
    });
    expect((r.config.model_list[0].litellm_params as Record<string, unknown>).api_bse).toBe('http://x');
  });

  it('knows model_info.health_check_model (the engine uses it for wildcard health checks)', () => {
    const r = loadLiteLLMConfig(
      {
        kind: 'text',
        label: 't',
        text:
          'model_list:\n  - model_name: "g/*"\n    litellm_params: {model: "gemini/*"}\n' +
          '    model_info: {health_check_model: gemini/gemini-2.0-flash}\n',
      },
      { env: {} },
    );
    expect(r.warnings.filter((w) => w.path.includes('health_check_model'))).toEqual([]);
  });

  it('keeps unquoted YAML dates as strings (api_version: 2024-02-01)', () => {
    const r = loadLiteLLMConfig(
      {
        kind: 'text',
        label: 't',
        text:
          'model_list:\n  - model_name: a\n    litellm_params:\n' +
          '      model: azure/a\n      api_version: 2024-02-01\n',
      },
      { env: {} },
    );
    expect(r.config.model_list[0].litellm_params.api_version).toBe('2024-02-01');
  });
});

describe('errors name the source, key path, expectation and finding', () => {
  it('wrong type, with YAML line and column', () => {
    const p = write('bad-type.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: 5\n');
    expect(fail({ kind: 'file', path: p }).message).toBe(
      `${p}:4:14: model_list[0].litellm_params.model: expected string, found number 5`,
    );
  });
  it('missing required key with a likely typo', () => {
    const e = fail({
      kind: 'text',
      label: '--proxy-config-json',
      text: '{"model_list":[{"model_name":"a","litellm_params":{"modle":"x"}}]}',
    });
    expect(e.message).toBe(
      '--proxy-config-json: model_list[0].litellm_params.model: required: expected string, found nothing ' +
        '(found "modle": did you mean "model"?)',
    );
    expect(e.exitCode).toBe(2);
  });
  it('missing model_name says required, with the typo when there is one', () => {
    const p = write('no-name.yaml', 'model_list:\n  - litellm_params: {model: openai/x}\n');
    expect(fail({ kind: 'file', path: p }).message).toBe(
      `${p}:2:5: model_list[0].model_name: required: expected a string, found nothing`,
    );
    const e = fail({
      kind: 'text',
      label: 't',
      text: '{"model_list":[{"model_nme":"a","litellm_params":{"model":"x"}}]}',
    });
    expect(e.message).toContain(
      'model_list[0].model_name: required: expected a string, found nothing ' +
        '(found "model_nme": did you mean "model_name"?)',
    );
  });
  it('required value from an unset variable', () => {
    const e = fail({
      kind: 'object',
      label: 'queue settings',
      value: { model_list: [{ model_name: 'a', litellm_params: { model: 'os.environ/THE_MODEL' } }] },
    });
    expect(e.message).toBe(
      'queue settings: model_list[0].litellm_params.model: required, ' +
        'but it refers to the environment variable THE_MODEL, which is not set',
    );
  });
  it('model_list that is not a list', () => {
    expect(fail({ kind: 'text', label: 'L', text: '{"model_list": {"a": 1}}' }).message).toBe(
      'L: model_list: expected array, found a mapping',
    );
  });
  it('YAML syntax error with line and column', () => {
    const p = write('syntax.yaml', 'model_list:\n  - model_name: a\n   litellm_params: [\n');
    expect(fail({ kind: 'file', path: p }).message).toMatch(
      new RegExp(`^${p.replace(/[.]/g, '\\.')}:3:\\d+: YAML syntax error: `),
    );
  });
  it('JSON syntax error with line and column', () => {
    const e = fail({ kind: 'text', label: '--proxy-config-json', text: '{"model_list": [}' });
    expect(e.message).toMatch(/^--proxy-config-json:1:\d+: JSON syntax error: /);
    const p = write('broken.json', '{\n  "model_list": [\n    {"model_name": "a",}\n  ]\n}');
    expect(fail({ kind: 'file', path: p }).message).toMatch(
      new RegExp(`^${p.replace(/[.]/g, '\\.')}:3:\\d+: JSON syntax error`),
    );
  });
  it('missing file, empty config, top level not a mapping', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(fail({ kind: 'file', path: missing }).message).toBe(`${missing}: cannot read the config file: no such file`);
    expect(fail({ kind: 'text', label: 'E', text: '  ' }).message).toBe(
      'E: the config is empty: expected a mapping with a model_list',
    );
    expect(fail({ kind: 'text', label: 'A', text: '[1, 2]' }).message).toBe(
      'A: expected a mapping at the top level (model_list, litellm_settings, ...), found a list',
    );
  });
  it('refuses a master_key reference to an unset variable (no open proxy)', () => {
    const e = fail({
      kind: 'object',
      label: 'q',
      value: { model_list: [], general_settings: { master_key: 'os.environ/NOPE' } },
    });
    expect(e.message).toContain(
      'general_settings.master_key: refers to the environment variable NOPE, which is not set',
    );
  });
});

describe('the shared LiteLLM corpus', () => {
  const corpus = path.resolve(__dirname, '../../../shared/litellm-configs');
  const files = fs.existsSync(corpus) ? fs.readdirSync(corpus).filter((f) => /\.ya?ml$|\.json$/.test(f)) : [];
  if (files.length === 0) {
    it.skip(`skipped: ${corpus} does not exist (it ships beside the repo, not in it)`, () => {});
    return;
  }
  it.each(files)('%s loads; what is not supported is a warning, never a crash or a silent drop', (f) => {
    const r = loadLiteLLMConfig({ kind: 'file', path: path.join(corpus, f) }, { env: {} });
    const doc = parse(fs.readFileSync(path.join(corpus, f), 'utf8'), { version: '1.1' }) as {
      model_list?: unknown[];
    } | null;
    const written = doc?.model_list?.length ?? 0;
    const dropped = r.warnings.filter((w) => /is not served/.test(w.message)).length;
    expect(r.config.model_list.length + dropped).toBe(written);
    for (const w of r.warnings) expect(w.path).not.toBe('');
  });
});

describe('errors never print a secret', () => {
  it('a resolved secret in the wrong place is described, not shown', () => {
    const e = fail(
      {
        kind: 'object',
        label: 'q',
        value: {
          model_list: [{ model_name: 'a', litellm_params: { model: 'openai/a', timeout: 'os.environ/OPENAI_KEY' } }],
        },
      },
      ENV,
    );
    expect(e.message).toBe(
      'q: model_list[0].litellm_params.timeout: expected number, found a string (not shown: it is a secret)',
    );
    const k = fail({
      kind: 'object',
      label: 'q',
      value: { model_list: [{ model_name: 'a', litellm_params: { model: 'openai/a', api_key: 12345 } }] },
    });
    expect(k.message).toBe(
      'q: model_list[0].litellm_params.api_key: expected string, found a number (not shown: it is a secret)',
    );
  });
});
