import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { maskCommandLine, maskSecrets, maskText, maskValue, secretMasker } from '../../src/config/litellm/secrets.js';

const KEY = 'sk-abc123def456ghi789';

describe('the secret masker', () => {
  it('masks every plain occurrence', () => {
    const mask = secretMasker([KEY]);
    expect(mask(`key ${KEY} and again ${KEY}.`)).toBe('key **** and again ****.');
    expect(mask('nothing to see')).toBe('nothing to see');
  });

  it('masks a secret as it appears inside JSON output (escaped quotes, backslashes, newlines)', () => {
    const pem = '-----BEGIN KEY-----\nMIIEv"quoted"\\tail\n-----END KEY-----';
    const json = JSON.stringify({ private_key: pem, other: 'kept' });
    const out = secretMasker([pem])(json);
    expect(out).toBe('{"private_key":"****","other":"kept"}');
    expect(JSON.parse(out)).toEqual({ private_key: '****', other: 'kept' });
  });

  it('masks a secret in the encodings upstreams echo it in: \\/, \\u escapes, JSON in JSON, URL-encoded', () => {
    const key = 'sk-a/b"cé-0123456789';
    const mask = secretMasker([key]);
    for (const form of [
      'sk-a\\/b\\"c\\u00e9-0123456789',
      'sk-a/b\\"c\\u00E9-0123456789',
      JSON.stringify(JSON.stringify(key).slice(1, -1)).slice(1, -1),
      encodeURIComponent(key),
      encodeURIComponent(key).toLowerCase(),
    ])
      expect(mask(`got [${form}] here`), form).toBe('got [****] here');
    // in part, escaped: its start and its last characters around stars
    expect(mask('key sk-a\\/b\\"c****6789 refused')).toBe('key **** refused');
  });

  it('masks partial echoes: a prefix and a suffix around a run of stars, dots or an ellipsis', () => {
    const mask = secretMasker([KEY]);
    const openai = 'Incorrect API key provided: sk-abc1************i789. See docs.';
    expect(mask(openai)).toBe('Incorrect API key provided: ****. See docs.');
    expect(mask('key sk-abc123...')).toBe('key ****');
    expect(mask('key sk-abc1…789 rejected')).toBe('key **** rejected');
    expect(mask('key ***ghi789 rejected')).toBe('key **** rejected');
  });

  it('masks a text cut off in the middle of a secret (8+ leading characters)', () => {
    const mask = secretMasker([KEY]);
    expect(mask('upstream said: {"auth":"sk-abc123d')).toBe('upstream said: {"auth":"****');
    expect(mask('upstream said: sk-abc1')).toBe('upstream said: sk-abc1'); // 7 characters: too little to be an echo
  });

  it("leaves echoes that show no more than maskValue's own display form alone", () => {
    const mask = secretMasker([KEY]);
    expect(maskValue(KEY)).toBe('sk-****89');
    expect(mask(`api key ${maskValue(KEY)} [flag]`)).toBe('api key sk-****89 [flag]');
    expect(mask('markdown **bold** and sk-***')).toBe('markdown **bold** and sk-***');
  });

  it('covers overlapping and nested secrets with one mask, leaking no fragment of either', () => {
    const a = 'AAAA-1111-BBBB';
    const b = 'BBBB-2222-CCCC';
    const mask = secretMasker([a, b, 'BBBB-2222']);
    expect(mask(`x AAAA-1111-BBBB-2222-CCCC y`)).toBe('x **** y');
    expect(mask(`${b} ${a}`)).toBe('**** ****');
  });

  it('does not search for values shorter than 4 characters, nor for empty or missing ones', () => {
    const mask = secretMasker(['abc', '', undefined, 'true']);
    expect(mask('abc abcd')).toBe('abc abcd');
    expect(mask('is true')).toBe('is ****');
    expect(secretMasker([])('sk-abc123def456ghi789')).toBe('sk-abc123def456ghi789');
  });

  it('takes another replacement (command lines show ***)', () => {
    expect(secretMasker([KEY], '***')(`--key=${KEY}`)).toBe('--key=***');
  });

  it('maskText builds the masker once per secrets array', () => {
    const secrets = [KEY];
    expect(maskText(`a ${KEY}`, secrets)).toBe('a ****');
    secrets.push('later-secret'); // the cached masker keeps what it was built from
    expect(maskText('a later-secret', secrets)).toBe('a later-secret');
    expect(maskText('a later-secret', [...secrets])).toBe('a ****');
  });
});

describe('the callers share it', () => {
  it('maskSecrets: display form under secret keys, the masker inside other strings', () => {
    const out = maskSecrets({ api_key: KEY, note: `uses ${KEY}`, url: 'http://x/?k=sk-abc1****i789', n: 1 }, [KEY]);
    expect(out).toEqual({ api_key: 'sk-****89', note: 'uses ****', url: 'http://x/?k=****', n: 1 });
  });

  it('maskCommandLine: flags and known secrets, including escaped ones', () => {
    const secret = 'pa"ss-word';
    const args = ['w', `--json={"p":${JSON.stringify(secret)}}`, secret];
    expect(maskCommandLine(args, [secret])).toEqual(['w', '--json={"p":"***"}', '***']);
  });
});

describe('what counts as a secret in a config', () => {
  const load = (params: Record<string, unknown>, env: Record<string, string>) =>
    loadLiteLLMConfig(
      {
        kind: 'object',
        value: { model_list: [{ model_name: 'm', litellm_params: { model: 'openai/x', ...params } }] },
      },
      { env },
    ).secretValues;

  it('the value a reference gives a secret field, or a variable named like a key; never an address', () => {
    const env = {
      BASE: 'http://127.0.0.1:8000',
      K: 'sk-from-a-plain-name-1',
      MY_TOKEN: 'tok-by-its-name-123',
      AUTH: 'Bearer header-value-1',
    };
    const secrets = load(
      {
        api_base: 'os.environ/BASE',
        api_key: 'os.environ/K',
        organization: 'os.environ/MY_TOKEN',
        extra_headers: { 'x-auth': 'os.environ/AUTH' },
      },
      env,
    );
    expect(secrets).toEqual(expect.arrayContaining([env.K, env.MY_TOKEN, env.AUTH]));
    expect(secrets).not.toContain(env.BASE);
  });

  it('environment_variables named like a key (HF_TOKEN), not a public key', () => {
    const loaded = loadLiteLLMConfig(
      {
        kind: 'object',
        value: {
          model_list: [],
          environment_variables: { HF_TOKEN: 'hf_token_value_1', LANGFUSE_PUBLIC_KEY: 'pk-lf-public-1' },
        },
      },
      { env: {} },
    );
    expect(loaded.secretValues).toContain('hf_token_value_1');
    expect(loaded.secretValues).not.toContain('pk-lf-public-1');
  });

  it('the password inside a URL, literal or by reference', () => {
    const secrets = load({ api_base: 'https://user:p%40ss-word@proxy.local/v1' }, {});
    expect(secrets).toContain('p@ss-word');
    expect(secrets).not.toContain('https://user:p%40ss-word@proxy.local/v1');
  });
});
