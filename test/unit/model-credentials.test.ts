/** Credentials of stored models: sealed with AES-256-GCM under LITELLM_SALT_KEY, references left as written. */
import { describe, expect, it } from 'vitest';
import { CredentialCipher, credentialKeys, isSealed } from '../../src/engine/models/credentials.js';

const params = {
  model: 'bedrock/anthropic.claude-3',
  api_base: 'https://example.test',
  api_key: 'sk-plain-secret-1234',
  aws_secret_access_key: 'aws-secret-5678',
  aws_region_name: 'us-east-1',
  extra_headers: { 'x-token': 'header-secret-9999' },
  vertex_credentials: 'os.environ/VERTEX_JSON',
  rpm: 10,
};

describe('CredentialCipher', () => {
  it('seals exactly the credentials, and opens them again', () => {
    expect(credentialKeys(params).sort()).toEqual(['api_key', 'aws_secret_access_key', 'extra_headers']);
    const c = new CredentialCipher('a-salt-key-of-some-length');
    const sealed = c.seal(params);
    const text = JSON.stringify(sealed);
    for (const s of ['sk-plain-secret-1234', 'aws-secret-5678', 'header-secret-9999']) expect(text).not.toContain(s);
    expect(isSealed(sealed.api_key)).toBe(true);
    expect(sealed.vertex_credentials).toBe('os.environ/VERTEX_JSON');
    expect(sealed.aws_region_name).toBe('us-east-1');
    expect(c.open(sealed)).toEqual(params);
    // a fresh IV each time: the same key never seals to the same text
    expect(c.seal(params).api_key).not.toBe(sealed.api_key);
  });

  it('refuses to open under another salt key or after tampering', () => {
    const sealed = new CredentialCipher('salt-one-000000').seal(params);
    expect(() => new CredentialCipher('salt-two-000000').open(sealed)).toThrow(/LITELLM_SALT_KEY differs/);
    const c = new CredentialCipher('salt-one-000000');
    const s = sealed.api_key as string;
    // change one byte of what was sealed (a base64 character may differ only in padding bits, which decode the same)
    const head = 'enc:v1:';
    expect(s.startsWith(head)).toBe(true);
    const bytes = Buffer.from(s.slice(head.length), 'base64url');
    bytes[bytes.length >> 1] ^= 0x01;
    const flipped = head + bytes.toString('base64url');
    expect(flipped).not.toBe(s);
    expect(() => c.open({ ...sealed, api_key: flipped })).toThrow();
  });
});
