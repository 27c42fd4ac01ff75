/**
 * The key itself, as LiteLLM makes and stores it: `sk-` plus 22 url-safe characters (16 random bytes), only
 * its unsalted sha256 hex kept (so a LiteLLM database's hashes import as they are), `sk-...last4` shown.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A new key: `sk-` + base64url of 16 random bytes (22 characters), as LiteLLM's `secrets.token_urlsafe(16)`. */
export function newKey(): string {
  return `sk-${randomBytes(16).toString('base64url')}`;
}

/** sha256 hex of the key (LiteLLM's `hash_token`; the `token` column). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** `sk-...last4` (LiteLLM's `abbreviate_api_key`, the `key_name` column and the `param` of auth errors). */
export function abbreviate(key: string): string {
  return `sk-...${key.slice(-4)}`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The stored hash a management call names: a key (`sk-...`) is hashed; 64 hex characters are taken as the hash
 * itself (LiteLLM accepts both in `key`, `keys` and `/key/{key_id}/...`).
 */
export function tokenOf(keyOrHash: string): string {
  return HEX64.test(keyOrHash) ? keyOrHash : hashKey(keyOrHash);
}
