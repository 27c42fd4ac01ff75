/**
 * `kubiya proxy spend` (in-process CLI) against a running engine: per key, team and model, as JSON and as a
 * table; the master key from the flag or LITELLM_MASTER_KEY; clear errors for a missing or wrong key and an
 * unreachable proxy. The engine's store is not what this is about: the default (in-memory SQLite) serves.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { runCli } from '../config-run.js';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';

const MASTER = 'sk-master-spendcli-0123';
const MASTER_HASH = createHash('sha256').update(MASTER).digest('hex');
const COST = 11 * 0.000001 + 7 * 0.000002;

let up: FakeUpstream;
let engine: TestEngine;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'gpt-cli',
          litellm_params: { model: 'openai/gpt-cli', api_base: `${up.url}/v1`, api_key: 'sk-up' },
          model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
      ],
      general_settings: { master_key: MASTER, proxy_batch_write_at: 0.02 },
    },
    { apiKey: MASTER },
  );
  for (let i = 0; i < 3; i++)
    await engine.openai.chat.completions.create({ model: 'gpt-cli', messages: [{ role: 'user', content: 'hi' }] });
  // wait for the writer's batch
  for (let i = 0; i < 250; i++) {
    const r = await fetch(`${engine.url}/spend/logs?summarize=false`, {
      headers: { authorization: `Bearer ${MASTER}` },
    });
    if (((await r.json()) as unknown[]).length >= 3) break;
    await new Promise((res) => setTimeout(res, 20));
  }
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});

describe('kubiya proxy spend', () => {
  it('prints the spend per key as JSON with -o json', async () => {
    const r = await runCli(['proxy', 'spend', '--url', engine.url, '--master-key', MASTER, '-o', 'json'], { env: {} });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.by).toBe('key');
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]).toMatchObject({ api_key: MASTER_HASH, input_tokens: 33, output_tokens: 21 });
    expect(out.total_spend).toBeCloseTo(3 * COST, 12);
    expect(r.stdout).not.toContain(MASTER);
  });

  it('groups by model and by team, taking the key from LITELLM_MASTER_KEY', async () => {
    const env = { LITELLM_MASTER_KEY: MASTER, LITELLM_PROXY_URL: engine.url };
    const models = JSON.parse((await runCli(['proxy', 'spend', '--by', 'model', '-o', 'json'], { env })).stdout);
    expect(models.rows).toEqual([{ name: 'gpt-cli', spend: expect.any(Number) }]);
    expect(models.rows[0].spend).toBeCloseTo(3 * COST, 12);
    const teams = JSON.parse(
      (await runCli(['proxy', 'spend', '--by', 'team', '--since', '2w', '-o', 'json'], { env })).stdout,
    );
    expect(teams.rows.map((t: { name: string }) => t.name)).toEqual(['Unassigned Team']);
    const start = new Date(Date.now() - 13 * 86_400_000).toISOString().slice(0, 10);
    expect(teams.start_date).toBe(start);
  });

  it('prints a table with a total line', async () => {
    const r = await runCli(['proxy', 'spend', '--by', 'model'], {
      env: { LITELLM_MASTER_KEY: MASTER, LITELLM_PROXY_URL: engine.url },
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('MODEL'))).toMatch(/^MODEL\s+SPEND$/);
    expect(lines.find((l) => l.startsWith('gpt-cli'))).toMatch(/^gpt-cli\s+\$0\.\d+$/);
    expect(lines.at(-1)).toMatch(/^TOTAL\s+\$/);
  });

  it('fails clearly: no key, a wrong key, a bad period, nothing listening', async () => {
    const home = { HOME: '/nonexistent-kubiya-home', KUBIYA_CONFIG: '/nonexistent-kubiya-home/config' };
    const none = await runCli(['proxy', 'spend', '--url', engine.url], { env: home });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no master key');
    const wrong = await runCli(['proxy', 'spend', '--url', engine.url, '--master-key', 'sk-wrong-1234'], { env: home });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/: 401 Authentication Error/);
    expect(wrong.stderr).not.toContain('sk-wrong-1234');
    const period = await runCli(['proxy', 'spend', '--since', 'lately', '--master-key', MASTER], { env: home });
    expect(period.stderr).toContain('--since must be a period');
    const down = await runCli(['proxy', 'spend', '--url', 'http://127.0.0.1:9', '--master-key', MASTER], { env: home });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach the engine at http://127.0.0.1:9');
  });
});
