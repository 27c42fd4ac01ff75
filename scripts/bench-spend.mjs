#!/usr/bin/env node
// Spend report benchmark (npm run bench:spend): loads 1,000,000 spend_logs rows spread over 60 days (and the
// daily rollups the writer would have made of them) into a fresh SQLite file and a fresh Postgres schema, starts
// the engine on each, and times a month's /spend/logs?summarize=true and /global/spend/report over HTTP
// (median of several runs after a warm-up). Target: under 100 ms each.
//
//   node scripts/bench-spend.mjs [--rows N] [--sqlite-only | --postgres-only] [--keep] [--json]   (build first)
//   --keep leaves the loaded file and schema in place (their names are printed) for looking at query plans
//   KUBIYA_BENCH_DATABASE_URL overrides the Postgres (default postgresql://postgres@127.0.0.1:5432/test)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { openGovernanceDb } = await dist('engine/governance/db/open.js');
const { startEngine, createLogger } = await dist('engine/index.js');
const { loadLiteLLMConfig } = await dist('config/litellm/load.js');
const pg = (await import('pg')).default;

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const ROWS = Number(opt('--rows', '1000000'));
const JSON_OUT = args.includes('--json');
const PG_URL = process.env.KUBIYA_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const MASTER = 'sk-bench-spend-master';
const DAYS = 60;
const DAY_MS = 86_400_000;
// the data's shape: 200 keys (each on 2 of 8 models), 50 users, 10 teams, 600 end users, 10 tags
const KEYS = 200;
const END = Date.UTC(2026, 5, 30, 23, 0, 0);
const RUNS = 9;

const log = (...a) => {
  if (!JSON_OUT) console.log(...a);
};

/** The SQL that fills spend_logs with ROWS generated rows, per dialect (no round trips per row). */
function fillLogs(dialect) {
  const sqlite = dialect === 'sqlite';
  const pad = (e) => (sqlite ? `printf('%064d', ${e})` : `lpad((${e})::text, 64, '0')`);
  const cols = `request_id, call_type, api_key, principal, spend, total_tokens, prompt_tokens, completion_tokens,
    cache_read_input_tokens, cache_creation_input_tokens, start_time, end_time, request_duration_ms, model, model_id,
    model_group, custom_llm_provider, api_base, user_id, team_id, end_user, metadata, request_tags, cache_hit,
    status, http_status`;
  const k = `(i % ${KEYS})`;
  const start = `(${END} - (i * ${DAYS * DAY_MS}) / ${ROWS})`;
  const select = `SELECT 'bench-' || i, 'acompletion', ${pad(k)}, 'virtual_key', 0.0001 * (1 + i % 10),
    150 + i % 50 + i % 30, 100 + i % 50, 50 + i % 30, 0, 0, ${start}, ${start} + 800, 800,
    'model-' || ((${k} + (i / ${KEYS}) % 2) % 8), NULL, 'model-' || ((${k} + (i / ${KEYS}) % 2) % 8), 'openai', NULL,
    'user-' || (${k} % 50), 'team-' || (${k} % 10), 'cust-' || (${k} + ${KEYS} * (i % 3)), '{}',
    '["tag-' || (i % 10) || '"]', 0, 'success', 200`;
  if (sqlite)
    return `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS - 1})
      INSERT INTO spend_logs (${cols}) ${select} FROM s`;
  return `INSERT INTO spend_logs (${cols}) ${select} FROM generate_series(0, ${ROWS - 1}) AS s(i)`;
}

/** The rollups the writer would have made of those rows: one INSERT ... SELECT ... GROUP BY per entity type. */
function fillRollups(dialect) {
  const sqlite = dialect === 'sqlite';
  const day = sqlite
    ? `strftime('%Y-%m-%d', l.start_time / 1000, 'unixepoch')`
    : `to_char(to_timestamp(l.start_time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  const types = {
    key: 'l.api_key',
    user: 'l.user_id',
    team: 'l.team_id',
    end_user: 'l.end_user',
    org: `COALESCE(l.organization_id, '')`,
    model: 'l.model_group',
    tag: 't.value',
  };
  return Object.entries(types).map(([type, id]) => {
    const tagJoin =
      type !== 'tag'
        ? ''
        : sqlite
          ? ', json_each(l.request_tags) t'
          : ', jsonb_array_elements_text(l.request_tags::jsonb) t';
    return `INSERT INTO daily_spend (entity_type, entity_id, date, api_key, model, model_group, custom_llm_provider,
        endpoint, prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, spend,
        api_requests, successful_requests, failed_requests)
      SELECT '${type}', ${id}, ${day}, l.api_key, l.model, l.model_group, l.custom_llm_provider, '/v1/chat/completions',
        SUM(l.prompt_tokens), SUM(l.completion_tokens), 0, 0, SUM(l.spend), COUNT(*), COUNT(*), 0
      FROM spend_logs l${tagJoin}
      GROUP BY ${id}, ${day}, l.api_key, l.model, l.model_group, l.custom_llm_provider`;
  });
}

async function load(store) {
  const t0 = performance.now();
  const g = await openGovernanceDb(store);
  if (g.sqlite) {
    g.sqlite.exec('BEGIN');
    g.sqlite.exec(fillLogs('sqlite'));
    for (const q of fillRollups('sqlite')) g.sqlite.exec(q);
    g.sqlite.exec('COMMIT');
  } else {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`SET search_path = ${store.schema}`);
    await c.query('BEGIN');
    await c.query(fillLogs('postgres'));
    for (const q of fillRollups('postgres')) await c.query(q);
    await c.query('COMMIT');
    // what autovacuum does shortly after a bulk load (statistics, and the visibility map index-only scans use)
    await c.query('VACUUM ANALYZE spend_logs');
    await c.query('VACUUM ANALYZE daily_spend');
    await c.end();
  }
  const counts = await g.db
    .selectFrom('daily_spend')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  await g.close();
  return { loadMs: performance.now() - t0, rollupRows: Number(counts.n) };
}

async function time(url, headers) {
  const samples = [];
  const cpu = [];
  let bytes = 0;
  for (let i = 0; i < RUNS + 2; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const r = await fetch(url, { headers });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text.slice(0, 200)}`);
    bytes = text.length;
    const used = process.cpuUsage(c);
    if (i >= 2) {
      samples.push(performance.now() - t);
      cpu.push((used.user + used.system) / 1000);
    }
  }
  const median = (a) => +a.sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(1);
  // CPU time of this process (engine and client; SQLite runs here, Postgres in its server): on a busy
  // machine it says what the work costs when wall time mostly says how long the CPU was shared
  return { medianMs: median(samples), maxMs: +Math.max(...samples).toFixed(1), cpuMs: median(cpu), bytes };
}

async function bench(kind) {
  let store;
  let cleanup;
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-bench-spend-'));
    store = { path: path.join(dir, 'governance.db') };
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `bench_spend_${randomBytes(4).toString('hex')}`;
    store = { url: PG_URL, schema };
    cleanup = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    };
  }
  try {
    log(`${kind}: loading ${ROWS.toLocaleString('en')} rows...`);
    const loaded = await load(store);
    const rollups = loaded.rollupRows.toLocaleString('en');
    log(`${kind}: loaded in ${(loaded.loadMs / 1000).toFixed(1)} s (${rollups} rollup rows)`);
    const config = loadLiteLLMConfig(
      { kind: 'object', value: { model_list: [], general_settings: { master_key: MASTER } }, label: 'bench' },
      { env: {} },
    );
    const engine = await startEngine({
      loaded: config,
      port: 0,
      env: {},
      logger: createLogger({ level: 'error', secrets: [], write: () => {} }),
      governance: store,
    });
    const headers = { authorization: `Bearer ${MASTER}` };
    const last = new Date(END).toISOString().slice(0, 10);
    const first = new Date(END - 29 * DAY_MS).toISOString().slice(0, 10);
    const month = `start_date=${first}&end_date=${last}`;
    const key = '0'.repeat(63) + '7';
    const cases = {
      'spend/logs summarize (month)': `/spend/logs?${month}`,
      'spend/logs summarize one key (month)': `/spend/logs?${month}&api_key=${key}`,
      'global/spend/report team (month)': `/global/spend/report?${month}`,
      'global/spend/report customer (month)': `/global/spend/report?${month}&group_by=customer`,
      'global/spend/report api_key (month)': `/global/spend/report?${month}&group_by=api_key`,
      'spend/logs rows of one key (newest 1000)': `/spend/logs?api_key=${key}`,
    };
    const out = {};
    try {
      for (const [name, p] of Object.entries(cases)) {
        out[name] = await time(`${engine.url}${p}`, headers);
        const { medianMs, maxMs, cpuMs, bytes } = out[name];
        const cols = `median ${String(medianMs).padStart(6)} ms  cpu ${String(cpuMs).padStart(6)} ms  max ${maxMs} ms`;
        log(`  ${name.padEnd(42)} ${cols}  ${bytes} bytes`);
      }
    } finally {
      await engine.close();
    }
    return { ...loaded, queries: out };
  } finally {
    if (args.includes('--keep')) log(`${kind}: kept ${store.path ?? store.schema}`);
    else await cleanup();
  }
}

const results = { rows: ROWS, days: DAYS, keys: KEYS };
if (!args.includes('--postgres-only')) results.sqlite = await bench('sqlite');
if (!args.includes('--sqlite-only')) results.postgres = await bench('postgres');
if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
