import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MasterKeyAuth } from '../../src/engine/auth/master-key.js';
import { ANONYMOUS, endUserOf, forEndUser, principalFields } from '../../src/engine/auth/principal.js';
import type { GatewayError } from '../../src/engine/errors.js';

describe('the master key authenticator', () => {
  const key = 'sk-master-unit-1';
  const auth = new MasterKeyAuth(key);

  it('returns the master principal: the key hash, never the key, the same frozen object every time', () => {
    const p = auth.authenticate({ authorization: `Bearer ${key}` });
    expect(p).toEqual({ kind: 'master', keyHash: createHash('sha256').update(key).digest('hex') });
    expect(auth.authenticate({ 'x-api-key': key })).toBe(p);
    expect(Object.isFrozen(p)).toBe(true);
    expect(JSON.stringify(p)).not.toContain(key);
    expect(auth.enabled).toBe(true);
  });

  it('keeps the 401 messages', () => {
    const msg = (h: Record<string, string>) => {
      try {
        auth.authenticate(h);
      } catch (e) {
        return `${(e as GatewayError).status} ${(e as GatewayError).message}`;
      }
      return 'passed';
    };
    expect(msg({})).toBe('401 Authentication Error: no API key passed. Send "Authorization: Bearer <key>".');
    expect(msg({ authorization: 'Bearer nope' })).toBe('401 Authentication Error: invalid proxy API key.');
  });

  it('without a key: everyone is ANONYMOUS', () => {
    const open = new MasterKeyAuth(undefined);
    expect(open.enabled).toBe(false);
    expect(open.authenticate({})).toBe(ANONYMOUS);
    expect(open.authenticate({ authorization: 'Bearer anything' })).toBe(ANONYMOUS);
  });
});

describe('the end user of a request', () => {
  it('comes from `user`, else metadata.user_id', () => {
    expect(endUserOf({ user: 'u1', metadata: { user_id: 'u2' } })).toBe('u1');
    expect(endUserOf({ metadata: { user_id: 'u2' } })).toBe('u2');
    expect(endUserOf({ user: '', metadata: {} })).toBeUndefined();
    expect(endUserOf({ user: 42 })).toBeUndefined();
    expect(endUserOf(undefined)).toBeUndefined();
  });

  it('derives a principal without touching the shared one', () => {
    const shared = new MasterKeyAuth('k-1234').authenticate({ authorization: 'Bearer k-1234' });
    const mine = forEndUser(shared, 'alice');
    expect(mine).toEqual({ ...shared, endUserId: 'alice' });
    expect(shared.endUserId).toBeUndefined();
    expect(forEndUser(shared, undefined)).toBe(shared);
  });

  it('log fields name the principal by a 12-character hash prefix', () => {
    const p = forEndUser(
      { kind: 'virtual_key', keyHash: 'a'.repeat(64), keyAlias: 'bot', userId: 'u', teamId: 't' },
      'e',
    );
    expect(principalFields(p)).toEqual({
      principal: 'virtual_key',
      key: 'a'.repeat(12),
      key_alias: 'bot',
      user: 'u',
      team: 't',
      end_user: 'e',
    });
    expect(principalFields(ANONYMOUS)).toEqual({ principal: 'anonymous' });
  });
});
