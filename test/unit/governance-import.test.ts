/** The import's pure parts: LiteLLM rows of odd shapes mapped to ours, and "is this the same database". */
import { describe, expect, it } from 'vitest';
import { sameDatabase } from '../../src/cli/commands/proxy/import-litellm.js';
import { keyRow, spendLogRow, teamMemberRows, userRow } from '../../src/engine/governance/import/map.js';

const NOW = 1_700_000_000_000;

describe('sameDatabase', () => {
  it('matches host, port, database and schema, whichever way the schema is named', () => {
    const a = 'postgresql://llm:one@127.0.0.1/litellm';
    expect(sameDatabase(a, 'postgres://other:two@localhost:5432/litellm')).toBe(true);
    expect(sameDatabase(a, 'postgresql://llm@localhost/litellm?schema=public')).toBe(true);
    expect(sameDatabase(`${a}?schema=ll`, 'postgresql://llm@localhost/litellm?options=-c%20search_path%3Dll')).toBe(
      true,
    );
    expect(sameDatabase(a, 'postgresql://llm@localhost/kubiya')).toBe(false);
    expect(sameDatabase(a, 'postgresql://llm@localhost:5433/litellm')).toBe(false);
    expect(sameDatabase(a, 'postgresql://llm@localhost/litellm?schema=kubiya')).toBe(false);
    expect(sameDatabase(a, 'postgresql://llm@db.internal/litellm')).toBe(false);
  });
});

describe('LiteLLM rows with nulls and odd values', () => {
  it('a key with every optional column null gets our defaults, never the hash as a name', () => {
    const token = 'ab'.repeat(32);
    const k = keyRow({ token, key_name: null, models: null, aliases: null, metadata: null, blocked: null }, NOW);
    expect(k).toMatchObject({
      token,
      key_name: 'sk-...',
      models: '[]',
      aliases: '{}',
      metadata: '{}',
      tags: '[]',
      blocked: 0,
      spend: 0,
      key_type: 'default',
      created_at: NOW,
      updated_at: NOW,
    });
  });

  it('metadata fields LiteLLM keeps there become columns; junk in them is dropped', () => {
    const k = keyRow(
      { token: 't', metadata: { tags: ['a', 3, 'b'], model_tpm_limit: { m: '10', n: 'x' }, key_type: 'read_only' } },
      NOW,
    );
    expect(JSON.parse(k.tags as string)).toEqual(['a', 'b']);
    expect(JSON.parse(k.model_tpm_limit as string)).toEqual({ m: 10 });
    expect(k.key_type).toBe('read_only');
  });

  it('an unknown role becomes internal_user', () => {
    expect(userRow({ user_id: 'u', user_role: 'app_owner' }, NOW).user_role).toBe('internal_user');
    expect(userRow({ user_id: 'u', user_role: 'proxy_admin' }, NOW).user_role).toBe('proxy_admin');
  });

  it('members: the listed role, the membership row’s spend and budget; members_with_roles may be {}', () => {
    const team = { team_id: 't', members_with_roles: [{ role: 'admin', user_id: 'a' }, { user_id: 'b' }] };
    expect(teamMemberRows(team, [{ user_id: 'a', team_id: 't', spend: 2, budget_id: 'b1' }], NOW)).toEqual([
      { team_id: 't', user_id: 'a', role: 'admin', spend: 2, budget_id: 'b1', created_at: NOW },
      { team_id: 't', user_id: 'b', role: 'user', spend: 0, budget_id: null, created_at: NOW },
    ]);
    expect(teamMemberRows({ team_id: 't', members_with_roles: {} }, [{ user_id: 'c', spend: 1 }], NOW)).toEqual([
      { team_id: 't', user_id: 'c', role: 'user', spend: 1, budget_id: null, created_at: NOW },
    ]);
  });

  it("a failed call's status comes from LiteLLM's error metadata; cached tokens from its usage", () => {
    const row = spendLogRow({
      request_id: 'r',
      call_type: 'acompletion',
      startTime: 1000,
      endTime: 1250,
      status: 'failure',
      metadata: {
        error_information: { error_code: '429' },
        usage_object: { prompt_tokens_details: { cached_tokens: 7 } },
      },
      messages: {},
      response: { id: 'x' },
    });
    expect(row).toMatchObject({
      http_status: 429,
      request_duration_ms: 250,
      cache_read_input_tokens: 7,
      messages: null,
      response: '{"id":"x"}',
      principal: 'anonymous',
    });
  });
});
