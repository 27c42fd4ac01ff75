/**
 * Credentials of models stored in the database (`store_model_in_db`): every secret-looking value in
 * `litellm_params` is encrypted with AES-256-GCM under a key derived from LITELLM_SALT_KEY (HKDF-SHA256), so the
 * database never holds a provider key in plaintext. Unlike LiteLLM we do not fall back to the master key: a
 * master key gets rotated, and rotating it would make every stored credential unreadable. Without
 * LITELLM_SALT_KEY a model with credentials is refused (os.environ/ references are not credentials: they are
 * stored as written and resolved when the model is built).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { isSecretKey, secretRefName } from '../../config/litellm/secrets.js';

/** The prefix of an encrypted value: version 1 is base64url(iv 12 | tag 16 | ciphertext) of the JSON value. */
const PREFIX = 'enc:v1:';
const SALT = Buffer.from('kubiya model credentials');

/** Whether a `litellm_params` key holds a credential (encrypted at rest, never shown). */
export function isCredentialParam(key: string): boolean {
  return (
    isSecretKey(key) ||
    key === 'vertex_credentials' ||
    key === 'client_secret' ||
    key === 'extra_headers' ||
    key === 'headers'
  );
}

/** Whether a value needs encrypting: anything but an empty value or an os.environ/ reference. */
function needsSecrecy(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  return !(typeof v === 'string' && secretRefName(v) !== undefined);
}

/** The credential params of `params` that need encrypting (their names). */
export function credentialKeys(params: Record<string, unknown>): string[] {
  return Object.keys(params).filter((k) => isCredentialParam(k) && needsSecrecy(params[k]));
}

export class CredentialCipher {
  private readonly key: Buffer;

  constructor(saltKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', saltKey, SALT, 'aes-256-gcm', 32));
  }

  /** `params` with every credential encrypted (others as they are). */
  seal(params: Record<string, unknown>): Record<string, unknown> {
    const out = { ...params };
    for (const k of credentialKeys(params)) out[k] = this.encrypt(params[k]);
    return out;
  }

  /** `params` with every encrypted value decrypted; throws when one was sealed under another salt key. */
  open(params: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) out[k] = isSealed(v) ? this.decrypt(v) : v;
    return out;
  }

  encrypt(value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  decrypt(sealed: string): unknown {
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    try {
      return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8'));
    } catch {
      throw new Error('cannot decrypt a stored credential: LITELLM_SALT_KEY differs from the one it was stored with');
    }
  }
}

/** Whether a stored value is one `CredentialCipher.encrypt` made. */
export function isSealed(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(PREFIX);
}
