#!/usr/bin/env node
// Engine benchmark (npm run bench): a fake OpenAI upstream and the engine run as separate processes
// on loopback; this process drives load at the upstream directly and through the engine, in the same
// run, and prints the engine's cost as ratios against that direct baseline. Bounded: ~5 minutes.
//
// Then, in alternating rounds against the plain engine (no master key): an engine with a master key
// (governance: admission and one spend-log row per call), and on it a virtual key with a budget and an rpm
// limit against the master key; an engine with the prometheus, langfuse and otel callbacks on (sinks pointed
// at local receivers that just answer): what each costs. Each pair runs 7 alternating rounds at 50 connections
// (4 with --quick; which side goes first alternates) and reports every round, the median round's req/s ratio
// and the ratio of engine CPU per request (utime+stime from /proc over the requests served). On a shared VM one
// round's req/s ratio swings by tens of percent (other processes take the cores mid-round); CPU per request
// moves far less, so read it alongside, and re-run rather than trust one round. --hotpath runs only these pairs.
//
// Then `proxy start --num_workers 2` against one engine process, on a mock_response config (no upstream).
//
// First of all, start-up: `kubiya --help` and `kubiya --version` against `node -e 0` (spawned alternately, many
// times: the ratio of medians), and the engine's cold start to readiness with the mock config.
//
// Last, a memory burst on a fresh engine: 10 concurrent ~30 MB requests, then RSS against its baseline; and
// Redis-backed limits against in-memory ones (a virtual key with rpm/tpm limits on an engine sharing state through
// the Redis on 127.0.0.1:6379, KUBIYA_BENCH_REDIS_PORT / KUBIYA_BENCH_REDIS_DB to change, against the same engine
// without it; throughput and each engine's CPU per request).
//
// --cache: only the response cache's round (1 connection, p50 of a hit and of a miss against the same engine
// without a cache, and of the upstream alone; a Redis hit too when 127.0.0.1:6379 answers).
//
//   node scripts/bench.mjs [--quick] [--json] [--memory] [--cache] [--redis] [--workers] [--startup] [--hotpath]
//   KUBIYA_BENCH_ENTRY=<script> runs the engine from another entry (e.g. a build variant) instead of bin/kubiya.js.
//   (build first: npm run build; --memory: the burst only; --cache / --redis / --workers / --startup / --hotpath:
//   those rounds only)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// the memory burst: request body size and how long the engine idles before its RSS is read again
const MEMORY_BODY_MB = 30;
const MEMORY_SETTLE_S = 3;
// the chat call every load round sends
const CHAT_BODY = JSON.stringify({
  model: 'bench',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say something about foxes.' },
  ],
  temperature: 0.2,
  max_tokens: 64,
});

// ---------------------------------------------------------------------------------------------
// Child mode: the fake upstream (its own process, so it never shares an event loop with the load).
if (process.argv[2] === '--upstream') {
  // Behaves like a (very fast) OpenAI-compatible server: parses each request and serialises an answer
  // for it (id, model, created), as any real server must; it never sleeps.
  const content = 'The quick brown fox jumps over the lazy dog. '.repeat(3).trim();
  const words = 'The quick brown fox jumps over the lazy dog.'.split(' ');
  let n = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid JSON"}}');
        return;
      }
      const id = `chatcmpl-bench${++n}`;
      const created = Math.floor(Date.now() / 1000);
      const model = body.model;
      if (body.stream !== true) {
        const answer = JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          system_fingerprint: 'fp_bench',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 24, completion_tokens: 30, total_tokens: 54 },
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
        return;
      }
      const chunk = (delta, finish = null) => {
        const choices = [{ index: 0, delta, finish_reason: finish }];
        return `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices })}\n\n`;
      };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      res.write(chunk({ role: 'assistant', content: '' }));
      for (const w of words) res.write(chunk({ content: ` ${w}` }));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (process.argv[2] === '--receivers') {
  // Child mode: where the sinks send (Langfuse ingestion and OTLP/HTTP traces): reads each body, answers at once
  let posts = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      posts++;
      if (req.url === '/api/public/ingestion') {
        res.writeHead(207, { 'content-type': 'application/json' });
        res.end('{"successes":[],"errors":[]}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  process.on('SIGTERM', () => {
    process.stderr.write(`receivers: ${posts} posts\n`);
    process.exit(0);
  });
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const quick = process.argv.includes('--quick');
  const jsonOut = process.argv.includes('--json');
  // load: seconds per round and side; rounds alternate direct / through so drift on a shared machine hits both alike
  const secs = quick
    ? { warm: 1, lat: 2, load: 2, rounds: 2, ttfb: 1.5, abRounds: 4 }
    : { warm: 2, lat: 4, load: 3.5, rounds: 3, ttfb: 3, abRounds: 7 };
  if (!fs.existsSync(path.join(ROOT, 'dist/bundle/main.js'))) throw new Error('build first: npm run build');
  if (process.argv.includes('--startup')) {
    const out = await startupRound(quick ? 11 : 21, jsonOut);
    if (jsonOut) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const hotpath = process.argv.includes('--hotpath');
  // a single round (--memory, --cache, --redis, --workers, --hotpath) skips start-up as it skips the rest
  const single = hotpath || ['--memory', '--cache', '--redis', '--workers'].some((f) => process.argv.includes(f));
  const startup = single ? undefined : await startupRound(quick ? 11 : 21, jsonOut);
  const autocannon = (await import('autocannon')).default;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-bench-'));
  const kids = [];
  const cleanup = () => {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const log = (s) => {
    if (!jsonOut) process.stderr.write(`${s}\n`);
  };

  // a child mode of this script (the upstream, the sinks' receivers): its process and the port it listens on
  const child = async (mode) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    kids.push(proc);
    const port = await new Promise((resolve, reject) => {
      proc.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port));
      proc.once('exit', () => reject(new Error(`${mode} failed to start`)));
    });
    return { proc, port };
  };
  const { proc: upstream, port: upPort } = await child('--upstream');
  const MASTER = 'sk-bench-master-key';
  const memoryOnly = process.argv.includes('--memory');
  const cfg = path.join(tmp, 'bench.yaml');
  fs.writeFileSync(
    cfg,
    [
      'model_list:',
      '  - model_name: bench',
      '    litellm_params:',
      '      model: openai/bench-model',
      `      api_base: http://127.0.0.1:${upPort}/v1`,
      '      api_key: sk-bench-upstream',
      '',
    ].join('\n'),
  );
  // the same with a master key: virtual keys, budgets and one spend-log row per call (governance) on
  const govCfg = path.join(tmp, 'bench-gov.yaml');
  fs.writeFileSync(govCfg, `${fs.readFileSync(cfg, 'utf8')}general_settings:\n  master_key: ${MASTER}\n`);

  if (process.argv.includes('--cache')) {
    const out = await cacheRound(cfg, tmp, kids, upPort, log, secs);
    upstream.kill('SIGTERM');
    process.stdout.write(`${JSON.stringify({ response_cache: out }, null, 2)}\n`);
    return;
  }

  if (process.argv.includes('--redis')) {
    const red = await redisLimits({ govCfg, tmp, kids, master: MASTER, log, secs, autocannon });
    upstream.kill('SIGTERM');
    process.stdout.write(`${JSON.stringify({ redis_limits: red }, null, 2)}\n`);
    return;
  }

  if (process.argv.includes('--workers')) {
    const w = await workersRound(tmp, kids, log, secs);
    upstream.kill('SIGTERM');
    process.stdout.write(`${JSON.stringify({ num_workers: w }, null, 2)}\n`);
    return;
  }

  if (memoryOnly) {
    const mem = await memoryBurst(cfg, tmp, kids, MASTER, log);
    upstream.kill('SIGTERM');
    process.stdout.write(`${JSON.stringify({ memory_burst: mem }, null, 2)}\n`);
    return;
  }

  if (hotpath) {
    const out = await hotpathRounds({ cfg, govCfg, tmp, kids, child, master: MASTER, log, secs, autocannon });
    upstream.kill('SIGTERM');
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }

  // cold start: spawn -> /health/readiness 200 (five times, median)
  const colds = [];
  let engine;
  for (let i = 0; i < 5; i++) {
    if (engine) await stopEngine(engine.child);
    engine = await startEngine(cfg, path.join(tmp, `port-${i}.json`));
    kids.push(engine.child);
    colds.push(engine.coldMs);
  }
  const coldMs = median(colds);
  log(`cold start to readiness: ${colds.map((c) => c.toFixed(0)).join(', ')} ms (median ${coldMs.toFixed(0)})`);

  const direct = {
    host: '127.0.0.1',
    port: upPort,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-upstream' },
  };
  const through = {
    host: '127.0.0.1',
    port: engine.port,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` },
  };
  const body = CHAT_BODY;
  const directBody = body.replace('"bench"', '"bench-model"');
  const streamBody = body.replace('{', '{"stream":true,');

  // 1 connection: a precise sequential loop (hrtime per request), interleaved to cancel drift
  log('warming up ...');
  await sequential(direct, directBody, secs.warm * 1000);
  await sequential(through, body, secs.warm * 1000);
  log('latency at 1 connection ...');
  const d1 = [];
  const e1 = [];
  for (let i = 0; i < 4; i++) {
    d1.push(...(await sequential(direct, directBody, (secs.lat * 1000) / 4)));
    e1.push(...(await sequential(through, body, (secs.lat * 1000) / 4)));
  }
  const lat1 = { direct: stats(d1), engine: stats(e1) };

  // 50 connections: autocannon, throughput and latency
  log('load at 50 connections ...');
  const rssSampler = sampleRss(engine.child.pid);
  const ac = (target, b) => load50(autocannon, target, b, secs.load);
  const versus = (a, pidA, b, pidB, b0, nameA, nameB) =>
    abRounds({ ac, secs, log }, a, pidA, b, pidB, b0, nameA, nameB);
  const rounds = [];
  const cpuSum = { direct: [0, 0, 0], through: [0, 0, 0], nd: 0, nt: 0 };
  for (let i = 0; i < secs.rounds; i++) {
    const c0 = cpuOf([upstream.pid, engine.child.pid]);
    const d = await ac(direct, directBody);
    const c1 = cpuOf([upstream.pid, engine.child.pid]);
    const e = await ac(through, body);
    const c2 = cpuOf([upstream.pid, engine.child.pid]);
    for (let k = 0; k < 3; k++) {
      cpuSum.direct[k] += c1[k] - c0[k];
      cpuSum.through[k] += c2[k] - c1[k];
    }
    cpuSum.nd += d.requests.total;
    cpuSum.nt += e.requests.total;
    rounds.push({ d, e, ratio: e.requests.average / d.requests.average });
    const pct = ((100 * e.requests.average) / d.requests.average).toFixed(1);
    log(
      `  round ${i + 1}: direct ${Math.round(d.requests.average)} req/s, ` +
        `through ${Math.round(e.requests.average)} req/s (${pct}%)`,
    );
  }
  // the median round (by ratio) stands for the run; CPU per request is over all rounds
  const mid = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
  const d50 = mid.d;
  const e50 = mid.e;
  const per = (sum, n) => sum.map((x) => round(x / n, 1));
  const cpuDirect = per(cpuSum.direct, cpuSum.nd);
  const cpuThrough = per(cpuSum.through, cpuSum.nt);
  const rss = rssSampler.stop();
  const errors = rounds.reduce((n, r) => n + r.e.errors + r.e.non2xx + r.e.timeouts, 0);

  // streams: time to first body byte
  log('stream time to first byte ...');
  const ds = await sequential(direct, streamBody.replace('"bench"', '"bench-model"'), secs.ttfb * 1000, true);
  const es = await sequential(through, streamBody, secs.ttfb * 1000, true);
  const ttfb = { direct: stats(ds), engine: stats(es) };

  // governance: an engine with a master key (its calls spend-logged, admission on) against the plain engine
  log('governance (master key, spend logged) against the plain engine ...');
  const govEngine = await startEngine(govCfg, path.join(tmp, 'port-gov.json'));
  kids.push(govEngine.child);
  const master = { ...through, port: govEngine.port };
  await sequential(master, body, secs.warm * 1000);
  const govAB = await versus(through, engine.child.pid, master, govEngine.child.pid, body, 'plain', 'master key');

  // virtual key: that engine called with a key from /key/generate (budget and rpm limit: cached auth,
  // reservation, limits, spend logged) against its master key (spend logged too)
  log('a virtual key against the master key ...');
  const vkey = await virtualKey(govEngine.port, MASTER);
  const keyed = { ...master, headers: { ...master.headers, authorization: `Bearer ${vkey}` } };
  await sequential(keyed, body, secs.warm * 1000);
  const gpid = govEngine.child.pid;
  const keyAB = await versus(master, gpid, keyed, gpid, body, 'master key', 'virtual key');
  await stopEngine(govEngine.child);

  // sinks: the same engine with prometheus, langfuse and otel on, against the plain one, rounds alternating
  log('sinks on (prometheus, langfuse, otel) against the plain engine ...');
  const { proc: receivers, port: rcvPort } = await child('--receivers');
  const sinkCfg = sinksConfig(cfg, tmp, rcvPort);
  const sinkEngine = await startEngine(sinkCfg, path.join(tmp, 'port-sinks.json'));
  kids.push(sinkEngine.child);
  const sinks = { ...through, port: sinkEngine.port, headers: { ...through.headers, 'x-litellm-tags': 'bench,load' } };
  const plain = { ...through, headers: sinks.headers };
  const sinkBody = tracedBody(body);
  await sequential(sinks, sinkBody, secs.warm * 1000);
  await ac(sinks, sinkBody);
  const sinkAB = await versus(plain, engine.child.pid, sinks, sinkEngine.child.pid, sinkBody, 'plain', 'sinks on');
  const sinkLat = sinkAB.lat;
  const sinkRounds = sinkAB.rounds;
  const cpuPer = sinkAB.cpu;
  const sinkMid = sinkAB.mid;
  const sinkErrors = sinkAB.errors;
  await stopEngine(sinkEngine.child);
  receivers.kill('SIGTERM');
  await stopEngine(engine.child);

  const cacheOut = await cacheRound(cfg, tmp, kids, upPort, log, secs);
  const workers = await workersRound(tmp, kids, log, secs);
  const mem = await memoryBurst(cfg, tmp, kids, MASTER, log);
  const redisAB = await redisLimits({ govCfg, tmp, kids, master: MASTER, log, secs, autocannon });
  upstream.kill('SIGTERM');

  const r = {
    num_workers: workers,
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    cold_start_ms: round(coldMs),
    startup,
    c1: {
      direct_p50_ms: round(lat1.direct.p50, 3),
      engine_p50_ms: round(lat1.engine.p50, 3),
      direct_p99_ms: round(lat1.direct.p99, 3),
      engine_p99_ms: round(lat1.engine.p99, 3),
      added_p50_ms: round(lat1.engine.p50 - lat1.direct.p50, 3),
      added_p99_ms: round(lat1.engine.p99 - lat1.direct.p99, 3),
      direct_rps: round(lat1.direct.rps),
      engine_rps: round(lat1.engine.rps),
    },
    c50: {
      direct_rps: round(d50.requests.average),
      engine_rps: round(e50.requests.average),
      throughput_ratio: round(mid.ratio, 3),
      round_ratios: rounds.map((r) => round(r.ratio, 3)),
      direct_p50_ms: d50.latency.p50,
      engine_p50_ms: e50.latency.p50,
      direct_p99_ms: d50.latency.p99,
      engine_p99_ms: e50.latency.p99,
      added_mean_ms: round(e50.latency.mean - d50.latency.mean, 2),
      errors,
      cpu_us_per_request: {
        direct: { load_generator: cpuDirect[0], upstream: cpuDirect[1] },
        through: { load_generator: cpuThrough[0], upstream: cpuThrough[1], engine: cpuThrough[2] },
      },
    },
    stream_ttfb: {
      direct_p50_ms: round(ttfb.direct.p50, 3),
      engine_p50_ms: round(ttfb.engine.p50, 3),
      added_p50_ms: round(ttfb.engine.p50 - ttfb.direct.p50, 3),
    },
    engine_rss_under_load_mb: round(rss.underLoad / 1024 / 1024, 1),
    engine_peak_rss_mb: round(rss.lifetime / 1024 / 1024, 1),
    sinks: {
      plain_p50_ms: round(sinkLat.a.p50, 3),
      sinks_p50_ms: round(sinkLat.b.p50, 3),
      added_p50_ms: round(sinkLat.b.p50 - sinkLat.a.p50, 3),
      plain_rps: round(sinkMid.p.requests.average),
      sinks_rps: round(sinkMid.s.requests.average),
      throughput_ratio: round(sinkMid.ratio, 3),
      round_ratios: sinkRounds.map((r) => round(r.ratio, 3)),
      engine_cpu_us_per_request: { plain: cpuPer.a, sinks: cpuPer.b },
      cpu_ratio: sinkAB.cpuRatio,
      errors: sinkErrors,
    },
    memory_burst: mem,
    response_cache: cacheOut,
    governance: {
      plain_p50_ms: round(govAB.lat.a.p50, 3),
      master_key_p50_ms: round(govAB.lat.b.p50, 3),
      added_p50_ms: round(govAB.lat.b.p50 - govAB.lat.a.p50, 3),
      throughput_ratio: round(govAB.mid.ratio, 3),
      round_ratios: govAB.rounds.map((x) => round(x.ratio, 3)),
      engine_cpu_us_per_request: { plain: govAB.cpu.a, master_key: govAB.cpu.b },
      cpu_ratio: govAB.cpuRatio,
      errors: govAB.errors,
    },
    virtual_key: {
      master_p50_ms: round(keyAB.lat.a.p50, 3),
      virtual_key_p50_ms: round(keyAB.lat.b.p50, 3),
      added_p50_ms: round(keyAB.lat.b.p50 - keyAB.lat.a.p50, 3),
      master_rps: round(keyAB.mid.p.requests.average),
      virtual_key_rps: round(keyAB.mid.s.requests.average),
      throughput_ratio: round(keyAB.mid.ratio, 3),
      round_ratios: keyAB.rounds.map((x) => round(x.ratio, 3)),
      engine_cpu_us_per_request: { master_key: keyAB.cpu.a, virtual_key: keyAB.cpu.b },
      cpu_ratio: keyAB.cpuRatio,
      errors: keyAB.errors,
    },
  };
  const targets = [
    [
      'throughput through the engine >= 35% of direct',
      r.c50.throughput_ratio >= 0.35,
      `${(r.c50.throughput_ratio * 100).toFixed(1)}%`,
    ],
    ['added p50 at 1 connection <= 0.3 ms', r.c1.added_p50_ms <= 0.3, `${r.c1.added_p50_ms} ms`],
    [
      'engine RSS under load <= 100 MB',
      r.engine_rss_under_load_mb <= 100,
      `${r.engine_rss_under_load_mb} MB (lifetime peak ${r.engine_peak_rss_mb} MB)`,
    ],
    ['cold start to readiness <= 200 ms', r.cold_start_ms <= 200, `${r.cold_start_ms} ms`],
    [
      'kubiya --help and --version <= 2x node -e 0',
      startup.help_ratio <= 2 && startup.version_ratio <= 2,
      `--help ${startup.help_ratio}x, --version ${startup.version_ratio}x (node -e 0: ${startup.node_ms} ms)`,
    ],
    ['no errors under load', errors === 0, String(errors)],
    [
      'throughput with prometheus, langfuse and otel on >= 90% of the plain engine',
      r.sinks.throughput_ratio >= 0.9,
      `${(r.sinks.throughput_ratio * 100).toFixed(1)}% median (rounds ${r.sinks.round_ratios.join(', ')}; ` +
        `engine CPU per request ${cpuPer.a} / ${cpuPer.b} µs: ${(r.sinks.cpu_ratio * 100).toFixed(1)}%)`,
    ],
    [
      'added p50 at 1 connection with the sinks on <= 0.05 ms',
      r.sinks.added_p50_ms <= 0.05,
      `${r.sinks.added_p50_ms} ms`,
    ],
    ['no errors with the sinks on', sinkErrors === 0, String(sinkErrors)],
    [
      'virtual key (budget and rpm limit, spend logged) adds <= 0.1 ms p50 at 1 connection over the master key',
      r.virtual_key.added_p50_ms <= 0.1,
      `${r.virtual_key.added_p50_ms} ms`,
    ],
    [
      'virtual key throughput >= 90% of the master key',
      r.virtual_key.throughput_ratio >= 0.9,
      `${(r.virtual_key.throughput_ratio * 100).toFixed(1)}% median ` +
        `(rounds ${r.virtual_key.round_ratios.join(', ')}; engine CPU per request ${keyAB.cpu.a} / ` +
        `${keyAB.cpu.b} µs: ${(keyAB.cpuRatio * 100).toFixed(1)}%)`,
    ],
    ['no errors with a virtual key', keyAB.errors === 0, String(keyAB.errors)],
    ['no errors with a master key (governance on)', govAB.errors === 0, String(govAB.errors)],
    [
      `RSS ${MEMORY_SETTLE_S} s after 10 concurrent ${MEMORY_BODY_MB} MB bodies <= 1.5x its baseline`,
      mem.after_ratio <= 1.5,
      `${mem.after_ratio}x (baseline ${mem.baseline_mb} MB, peak ${mem.peak_mb} MB = ${mem.peak_ratio}x, ` +
        `after ${mem.after_mb} MB; answers ${JSON.stringify(mem.statuses)})`,
    ],
    ['every burst request answered 200, 503 or 413', mem.unexpected === 0, String(mem.unexpected)],
    [
      '--num_workers 2 gives more throughput than 1 process',
      workers.ratio > 1,
      `${workers.ratio}x (${workers.one_rps} -> ${workers.two_rps} req/s; rounds ${workers.round_ratios.join(', ')})`,
    ],
  ];
  r.redis_limits = redisAB;
  targets.push(
    [
      'throughput with Redis-backed limits >= 80% of in-memory limits',
      redisAB.throughput_ratio >= 0.8,
      `${(redisAB.throughput_ratio * 100).toFixed(1)}% (rounds ${redisAB.round_ratios.join(', ')}; CPU/request ` +
        `${redisAB.memory_cpu_us_per_req} us in memory, ${redisAB.redis_cpu_us_per_req} us with Redis)`,
    ],
    ['no errors with Redis-backed limits', redisAB.errors === 0, String(redisAB.errors)],
  );
  r.targets = Object.fromEntries(targets.map(([name, ok, v]) => [name, { ok, value: v }]));
  fs.mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, '.bench/last.json'), `${JSON.stringify(r, null, 2)}\n`);
  if (jsonOut) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const p = (s) => process.stdout.write(`${s}\n`);
  p(`\nkubiya engine benchmark (${r.machine})\n`);
  p('                        direct        through engine   engine cost');
  p(
    `1 conn   p50 latency    ${f(r.c1.direct_p50_ms)} ms      ${f(r.c1.engine_p50_ms)} ms         ` +
      `+${r.c1.added_p50_ms} ms`,
  );
  p(
    `1 conn   p99 latency    ${f(r.c1.direct_p99_ms)} ms      ${f(r.c1.engine_p99_ms)} ms         ` +
      `+${r.c1.added_p99_ms} ms`,
  );
  p(
    `50 conn  requests/s     ${f(r.c50.direct_rps, 0)}         ${f(r.c50.engine_rps, 0)}            ` +
      `${(r.c50.throughput_ratio * 100).toFixed(1)}% of direct`,
  );
  p(
    `50 conn  p50 / p99      ${r.c50.direct_p50_ms} / ${r.c50.direct_p99_ms} ms      ` +
      `${r.c50.engine_p50_ms} / ${r.c50.engine_p99_ms} ms        +${r.c50.added_mean_ms} ms mean`,
  );
  const cu = r.c50.cpu_us_per_request;
  p(
    `50 conn  CPU µs/req     load ${cu.direct.load_generator} + upstream ${cu.direct.upstream}   ` +
      `load ${cu.through.load_generator} + upstream ${cu.through.upstream} + engine ${cu.through.engine}`,
  );
  p(
    `stream   TTFB p50       ${f(r.stream_ttfb.direct_p50_ms)} ms      ${f(r.stream_ttfb.engine_p50_ms)} ms         ` +
      `+${r.stream_ttfb.added_p50_ms} ms`,
  );
  p(
    `engine RSS under load ${r.engine_rss_under_load_mb} MB ` +
      `(lifetime peak incl. warm-up ${r.engine_peak_rss_mb} MB), ` +
      `cold start to readiness ${r.cold_start_ms} ms, errors under load ${errors}\n`,
  );
  const sk = r.sinks;
  p('                        plain engine  sinks on         sinks cost');
  p(`1 conn   p50 latency    ${f(sk.plain_p50_ms)} ms      ${f(sk.sinks_p50_ms)} ms         +${sk.added_p50_ms} ms`);
  p(
    `50 conn  requests/s     ${f(sk.plain_rps, 0)}         ${f(sk.sinks_rps, 0)}            ` +
      `${(sk.throughput_ratio * 100).toFixed(1)}% of plain`,
  );
  const ec = sk.engine_cpu_us_per_request;
  p(
    `50 conn  engine CPU     ${f(ec.plain, 1)} µs/req   ${f(ec.sinks, 1)} µs/req       ` +
      `${((100 * ec.plain) / ec.sinks).toFixed(1)}% (plain / sinks on)\n`,
  );
  const gv = r.governance;
  p('                        plain engine  master key       governance cost (spend logged, admission)');
  p(
    `1 conn   p50 latency    ${f(gv.plain_p50_ms)} ms      ${f(gv.master_key_p50_ms)} ms         ` +
      `+${gv.added_p50_ms} ms`,
  );
  p(
    `50 conn  engine CPU     ${f(gv.engine_cpu_us_per_request.plain, 1)} µs/req   ` +
      `${f(gv.engine_cpu_us_per_request.master_key, 1)} µs/req       ` +
      `throughput ${(gv.throughput_ratio * 100).toFixed(1)}% of plain\n`,
  );
  const vk = r.virtual_key;
  p('                        master key    virtual key      key cost');
  p(
    `1 conn   p50 latency    ${f(vk.master_p50_ms)} ms      ${f(vk.virtual_key_p50_ms)} ms         ` +
      `+${vk.added_p50_ms} ms`,
  );
  p(
    `50 conn  requests/s     ${f(vk.master_rps, 0)}         ${f(vk.virtual_key_rps, 0)}            ` +
      `${(vk.throughput_ratio * 100).toFixed(1)}% of master\n`,
  );
  const rc = r.response_cache;
  p(
    `response cache, 1 conn p50: upstream alone ${rc.upstream_p50_ms} ms, no cache ${rc.no_cache_p50_ms} ms, ` +
      `miss ${rc.miss_p50_ms} ms, hit ${rc.hit_p50_ms} ms` +
      (rc.redis_hit_p50_ms === undefined ? '\n' : `, redis hit ${rc.redis_hit_p50_ms} ms\n`),
  );
  const mm = r.memory_burst;
  p(
    `memory burst (10 x ${mm.body_mb} MB at once): RSS baseline ${mm.baseline_mb} MB, peak ${mm.peak_mb} MB ` +
      `(${mm.peak_ratio}x), ${MEMORY_SETTLE_S} s after ${mm.after_mb} MB (${mm.after_ratio}x); ` +
      `answers ${JSON.stringify(mm.statuses)}\n`,
  );
  const nw = r.num_workers;
  p(
    `--num_workers 2 (mock_response, 50 conn): ${nw.one_rps} -> ${nw.two_rps} req/s = ${nw.ratio}x ` +
      `(rounds ${nw.round_ratios.join(', ')}; errors ${nw.errors})\n`,
  );
  for (const [name, ok, v] of targets) p(`${ok ? 'PASS' : 'MISS'}  ${name}: ${v}`);
  p('\n(results also in .bench/last.json)');
}

/**
 * `--num_workers 2` against one engine process: the same mock_response config (no upstream process taking a
 * core), 50 connections from autocannon, rounds alternating; the ratio is the median round's. On a 2-core
 * machine the load generator shares the cores with the workers, so the ratio is what one box really gains.
 */
/**
 * Two targets against each other, alternating so drift on a shared machine hits both alike: p50 at
 * 1 connection (interleaved slices), then `secs.abRounds` rounds at 50 connections (which side goes first
 * alternates) with each side's engine CPU per request (utime+stime from /proc over the requests it served).
 * On this kind of shared VM one round's req/s ratio swings by +-10%; the median of the rounds' ratios and
 * the ratio of CPU per request (which drift on the machine moves far less) are what to read.
 */
async function abRounds({ ac, secs, log }, a, pidA, b, pidB, b0, nameA, nameB) {
  const la = [];
  const lb = [];
  for (let i = 0; i < 6; i++) {
    const [x, y] = i % 2 === 0 ? [a, b] : [b, a];
    const rx = await sequential(x, b0, (secs.lat * 1000) / 4);
    const ry = await sequential(y, b0, (secs.lat * 1000) / 4);
    (x === a ? la : lb).push(...rx);
    (y === a ? la : lb).push(...ry);
  }
  const cpu = { a: [0, 0], b: [0, 0] };
  const loadOn = async (t) => {
    const pid = t === a ? pidA : pidB;
    const c0 = cpuOf([pid])[1];
    const res = await ac(t, b0);
    const side = cpu[t === a ? 'a' : 'b'];
    const used = cpuOf([pid])[1] - c0;
    side[0] += used;
    side[1] += res.requests.total;
    return { res, us: used / Math.max(1, res.requests.total) };
  };
  const out = [];
  for (let i = 0; i < secs.abRounds; i++) {
    const first = i % 2 === 0 ? a : b;
    const rx = await loadOn(first);
    const ry = await loadOn(first === a ? b : a);
    const [p, s] = first === a ? [rx.res, ry.res] : [ry.res, rx.res];
    const [cp, cs] = first === a ? [rx.us, ry.us] : [ry.us, rx.us];
    const ratio = s.requests.average / p.requests.average;
    out.push({ p, s, ratio, cpu: [cp, cs] });
    log(
      `  round ${i + 1}: ${nameA} ${Math.round(p.requests.average)} req/s, ` +
        `${nameB} ${Math.round(s.requests.average)} req/s (${(100 * ratio).toFixed(1)}%); ` +
        `engine CPU ${cp.toFixed(0)} / ${cs.toFixed(0)} µs per request`,
    );
  }
  const cpuA = cpu.a[0] / cpu.a[1];
  const cpuB = cpu.b[0] / cpu.b[1];
  const lat = { a: stats(la), b: stats(lb) };
  const mid = [...out].sort((x, y) => x.ratio - y.ratio)[Math.floor(out.length / 2)];
  log(
    `  median ratio ${(100 * mid.ratio).toFixed(1)}%, CPU per request ${nameA} ${cpuA.toFixed(0)} µs, ` +
      `${nameB} ${cpuB.toFixed(0)} µs (${nameA}/${nameB} ${((100 * cpuA) / cpuB).toFixed(1)}%); ` +
      `p50 at 1 connection ${lat.a.p50.toFixed(3)} / ${lat.b.p50.toFixed(3)} ms`,
  );
  return {
    lat,
    rounds: out,
    mid,
    cpu: { a: round(cpuA, 1), b: round(cpuB, 1) },
    // what the CPU per request says throughput would be if the engine's CPU were all that limited it
    cpuRatio: round(cpuA / cpuB, 3),
    errors: out.reduce((n, r) => n + r.s.errors + r.s.non2xx + r.s.timeouts, 0),
  };
}

/**
 * --hotpath: only the rounds that price the per-request work of the sinks and of governance, on one plain
 * engine, one with the three sinks on and one with a master key: plain against sinks on, plain against master
 * key, master key against a virtual key. Every round reported, the median ratio and CPU per request per mode.
 */
async function hotpathRounds({ cfg, govCfg, tmp, kids, child, master, log, secs, autocannon }) {
  const { proc: receivers, port: rcvPort } = await child('--receivers');
  const start = async (c, name) => {
    const e = await startEngine(c, path.join(tmp, `port-${name}.json`));
    kids.push(e.child);
    return e;
  };
  const plainEngine = await start(cfg, 'plain');
  const sinkEngine = await start(sinksConfig(cfg, tmp, rcvPort), 'sinks');
  const govEngine = await start(govCfg, 'gov');
  const ac = (target, b) => load50(autocannon, target, b, secs.load);
  const body = tracedBody(CHAT_BODY);
  const target = (port, key) => ({
    host: '127.0.0.1',
    port,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-litellm-tags': 'bench,load' },
  });
  const plain = target(plainEngine.port, master);
  const sinks = target(sinkEngine.port, master);
  const masterKey = target(govEngine.port, master);
  const keyed = target(govEngine.port, await virtualKey(govEngine.port, master));
  for (const t of [plain, sinks, masterKey, keyed]) {
    await sequential(t, body, secs.warm * 1000);
    await ac(t, body);
  }
  const run = (a, pa, b, pb, na, nb) => abRounds({ ac, secs, log }, a, pa, b, pb, body, na, nb);
  const summary = (r, na, nb) => ({
    [`${na}_p50_ms`]: round(r.lat.a.p50, 3),
    [`${nb}_p50_ms`]: round(r.lat.b.p50, 3),
    added_p50_ms: round(r.lat.b.p50 - r.lat.a.p50, 3),
    median_throughput_ratio: round(r.mid.ratio, 3),
    round_ratios: r.rounds.map((x) => round(x.ratio, 3)),
    engine_cpu_us_per_request: { [na]: r.cpu.a, [nb]: r.cpu.b },
    cpu_ratio: r.cpuRatio,
    errors: r.errors,
  });
  log('sinks on (prometheus, langfuse, otel) against the plain engine ...');
  const s = await run(plain, plainEngine.child.pid, sinks, sinkEngine.child.pid, 'plain', 'sinks on');
  log('governance (master key, spend logged) against the plain engine ...');
  const g = await run(plain, plainEngine.child.pid, masterKey, govEngine.child.pid, 'plain', 'master key');
  log('a virtual key against the master key ...');
  const gp = govEngine.child.pid;
  const v = await run(masterKey, gp, keyed, gp, 'master key', 'virtual key');
  for (const e of [plainEngine, sinkEngine, govEngine]) await stopEngine(e.child);
  receivers.kill('SIGTERM');
  return {
    sinks: summary(s, 'plain', 'sinks'),
    master_key: summary(g, 'plain', 'master_key'),
    virtual_key: summary(v, 'master_key', 'virtual_key'),
  };
}

/** `secs` of POSTs of `body` to `target` over 50 connections (autocannon's result). */
function load50(autocannon, target, body, secs) {
  return autocannon({
    url: `http://${target.host}:${target.port}${target.path}`,
    method: 'POST',
    headers: target.headers,
    body,
    connections: 50,
    pipelining: 1,
    duration: secs,
  });
}

/** The bench config with the prometheus, langfuse and otel callbacks on, sending to the receivers on `rcvPort`. */
function sinksConfig(cfg, tmp, rcvPort) {
  const sinkCfg = path.join(tmp, 'bench-sinks.yaml');
  fs.writeFileSync(
    sinkCfg,
    [
      fs.readFileSync(cfg, 'utf8').trimEnd(),
      'litellm_settings:',
      '  callbacks: ["prometheus", "otel"]',
      '  success_callback: ["langfuse"]',
      '  failure_callback: ["langfuse"]',
      'environment_variables:',
      '  LANGFUSE_PUBLIC_KEY: pk-lf-bench',
      '  LANGFUSE_SECRET_KEY: sk-lf-bench',
      `  LANGFUSE_HOST: http://127.0.0.1:${rcvPort}`,
      `  OTEL_EXPORTER_OTLP_ENDPOINT: http://127.0.0.1:${rcvPort}`,
      '',
    ].join('\n'),
  );
  return sinkCfg;
}

/** What a traced call carries: metadata the sinks map, an end user. */
function tracedBody(body) {
  return body.replace('{', '{"user":"bench-user","metadata":{"session_id":"bench-s1","project":"bench"},');
}

/** A virtual key from /key/generate with a budget and an rpm limit (cached auth, reservation, limits). */
async function virtualKey(port, master) {
  const made = await fetch(`http://127.0.0.1:${port}/key/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` },
    body: JSON.stringify({ key_alias: 'bench', models: ['bench'], max_budget: 1e9, rpm_limit: 1e9 }),
  });
  if (!made.ok) throw new Error(`/key/generate answered ${made.status}: ${await made.text()}`);
  return (await made.json()).key;
}

async function workersRound(tmp, kids, log, secs) {
  log('--num_workers 2 against 1 (mock_response config) ...');
  const autocannon = (await import('autocannon')).default;
  const cfg = path.join(tmp, 'bench-workers.yaml');
  fs.writeFileSync(
    cfg,
    [
      'model_list:',
      '  - model_name: bench',
      '    litellm_params:',
      '      model: openai/bench-model',
      '      mock_response: "The quick brown fox jumps over the lazy dog."',
      '',
    ].join('\n'),
  );
  const one = await startEngine(cfg, path.join(tmp, 'port-w1.json'));
  kids.push(one.child);
  const two = await startEngine(cfg, path.join(tmp, 'port-w2.json'), ['--num_workers', '2']);
  kids.push(two.child);
  const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'Say something about foxes.' }] });
  const ac = (port, duration) =>
    autocannon({
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: 50,
      pipelining: 1,
      duration,
    });
  await ac(one.port, secs.warm);
  await ac(two.port, secs.warm);
  const rounds = [];
  for (let i = 0; i < secs.rounds + 2; i++) {
    const [a, b] = i % 2 === 0 ? [one, two] : [two, one];
    const ra = await ac(a.port, secs.load);
    const rb = await ac(b.port, secs.load);
    const [r1, r2] = a === one ? [ra, rb] : [rb, ra];
    const ratio = r2.requests.average / r1.requests.average;
    rounds.push({ r1, r2, ratio });
    log(
      `  round ${i + 1}: 1 process ${Math.round(r1.requests.average)} req/s, ` +
        `--num_workers 2 ${Math.round(r2.requests.average)} req/s (${ratio.toFixed(2)}x)`,
    );
  }
  await Promise.all([stopEngine(one.child), stopEngine(two.child)]);
  const mid = [...rounds].sort((x, y) => x.ratio - y.ratio)[Math.floor(rounds.length / 2)];
  return {
    one_rps: round(mid.r1.requests.average),
    two_rps: round(mid.r2.requests.average),
    ratio: round(mid.ratio, 3),
    round_ratios: rounds.map((x) => round(x.ratio, 3)),
    errors: rounds.reduce((n, x) => n + x.r1.errors + x.r1.non2xx + x.r2.errors + x.r2.non2xx, 0),
  };
}

/**
 * The memory burst: a fresh engine takes 10 concurrent ~30 MB chat requests (one long message each, sent on to
 * the upstream), then idles; its RSS before (baseline), the highest sampled during the burst (peak) and
 * MEMORY_SETTLE_S seconds after the last answer (after). Each request must be answered 200, or 503 / 413 when
 * the engine's bound on held request bytes (max_inflight_request_mb) or size (max_request_size_mb) refuses it.
 */
async function memoryBurst(cfg, tmp, kids, master, log) {
  log(`memory burst: 10 concurrent ${MEMORY_BODY_MB} MB requests on a fresh engine ...`);
  const e = await startEngine(cfg, path.join(tmp, 'port-memory.json'));
  kids.push(e.child);
  const rss = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${e.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  };
  // a few small requests first, so the baseline includes a warmed-up request path
  const small = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] });
  const target = {
    host: '127.0.0.1',
    port: e.port,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` },
  };
  await sequential(target, small, 500);
  await new Promise((r) => setTimeout(r, 1000));
  const baseline = rss();
  const filler = 'lorem ipsum dolor sit amet '
    .repeat(Math.ceil((MEMORY_BODY_MB * 1e6) / 27))
    .slice(0, MEMORY_BODY_MB * 1e6);
  const big = Buffer.from(JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: filler }] }));
  let peak = baseline;
  const t = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  const statuses = {};
  await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        new Promise((resolve) => {
          const req = http.request({ ...target, method: 'POST', agent: false }, (res) => {
            res.resume();
            res.on('end', () => {
              statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
              resolve();
            });
          });
          // a refused upload may be cut by the engine before it is all sent: that is an answer too
          req.on('error', () => {
            statuses.reset = (statuses.reset ?? 0) + 1;
            resolve();
          });
          req.end(big);
        }),
    ),
  );
  peak = Math.max(peak, rss());
  await new Promise((r) => setTimeout(r, MEMORY_SETTLE_S * 1000));
  clearInterval(t);
  const after = rss();
  await stopEngine(e.child);
  const mb = (x) => round(x / 1024 / 1024, 1);
  const unexpected = Object.entries(statuses)
    .filter(([k]) => !['200', '503', '413'].includes(k))
    .reduce((n, [, v]) => n + v, 0);
  const out = {
    body_mb: MEMORY_BODY_MB,
    baseline_mb: mb(baseline),
    peak_mb: mb(peak),
    after_mb: mb(after),
    peak_ratio: round(peak / baseline, 2),
    after_ratio: round(after / baseline, 2),
    statuses,
    unexpected,
  };
  log(`  ${JSON.stringify(out)}`);
  return out;
}

/**
 * The response cache at 1 connection, sides interleaved: the upstream alone, the engine without a cache, a
 * miss (`cache: {"no-cache": true}`: key, upstream call, store) and a hit, with a local cache; then a hit with
 * a Redis cache (a namespace of its own, entries expiring in a minute) when 127.0.0.1:6379 answers.
 */
async function cacheRound(cfg, tmp, kids, upPort, log, secs) {
  const base = fs.readFileSync(cfg, 'utf8');
  const ns = `kubiya-bench-${process.pid}-${Date.now()}`;
  const start = async (name, extra) => {
    const file = path.join(tmp, `${name}.yaml`);
    fs.writeFileSync(file, base + extra);
    const e = await startEngine(file, path.join(tmp, `${name}-port.json`));
    kids.push(e.child);
    return e;
  };
  const plain = await start('cache-plain', '');
  const local = await start('cache-local', 'litellm_settings:\n  cache: true\n  cache_params:\n    type: local\n');
  const redisUp = await new Promise((resolve) => {
    const sock = net.connect(6379, '127.0.0.1', () => {
      sock.end();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
  const redis = redisUp
    ? await start(
        'cache-redis',
        'litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: 127.0.0.1\n    port: 6379\n' +
          `    namespace: ${ns}\n    ttl: 60\n`,
      )
    : undefined;
  const target = (port, p = '/v1/chat/completions') => ({
    host: '127.0.0.1',
    port,
    path: p,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-upstream' },
  });
  const ask = { model: 'bench', messages: [{ role: 'user', content: 'Say something about foxes.' }], max_tokens: 64 };
  const body = JSON.stringify(ask);
  const direct = JSON.stringify({ ...ask, model: 'bench-model' });
  const miss = JSON.stringify({ ...ask, cache: { 'no-cache': true } });
  const sides = [
    ['upstream', target(upPort), direct],
    ['no_cache', target(plain.port), body],
    ['miss', target(local.port), miss],
    ['hit', target(local.port), body],
  ];
  if (redis) sides.push(['redis_hit', target(redis.port), body]);
  log('response cache at 1 connection ...');
  for (const [, t, b] of sides) await sequential(t, b, secs.warm * 500);
  const got = Object.fromEntries(sides.map(([n]) => [n, []]));
  for (let i = 0; i < 4; i++)
    for (const [n, t, b] of sides) got[n].push(...(await sequential(t, b, (secs.lat * 1000) / 4)));
  const p = Object.fromEntries(Object.entries(got).map(([n, xs]) => [n, stats(xs).p50]));
  const out = {
    upstream_p50_ms: round(p.upstream, 3),
    no_cache_p50_ms: round(p.no_cache, 3),
    miss_p50_ms: round(p.miss, 3),
    hit_p50_ms: round(p.hit, 3),
    hit_added_over_upstream_ms: round(p.hit - p.upstream, 3),
    miss_added_over_no_cache_ms: round(p.miss - p.no_cache, 3),
  };
  if (redis) out.redis_hit_p50_ms = round(p.redis_hit, 3);
  log(`  ${JSON.stringify(out)}`);
  for (const e of [plain, local, redis]) if (e) await stopEngine(e.child);
  return out;
}

/**
 * Redis-backed limits against in-memory ones: two engines with a master key, one sharing state through Redis
 * (router_settings.redis_*, db KUBIYA_BENCH_REDIS_DB or 0), each called with a virtual key of its own with rpm and
 * tpm limits, so every request takes the limiter. What a request costs in Redis calls: a share of one EVALSHA
 * before the call (the acquires of requests arriving together and the releases of calls that ended go in one
 * script call; at 50 connections about 10 requests a call), nothing after it (its release rides with a later
 * call). Rounds at 50 connections alternate between them; the median round's ratio stands for the run, with
 * each engine's CPU (utime + stime) per request over all rounds.
 */
async function redisLimits({ govCfg, tmp, kids, master, log, secs, autocannon }) {
  log('Redis-backed limits against in-memory limits ...');
  const redisPort = Number(process.env.KUBIYA_BENCH_REDIS_PORT) || 6379;
  const redisDb = Number(process.env.KUBIYA_BENCH_REDIS_DB) || 0;
  const redisCfg = path.join(tmp, 'bench-redis.yaml');
  fs.writeFileSync(
    redisCfg,
    `${fs.readFileSync(govCfg, 'utf8')}router_settings:\n  redis_host: 127.0.0.1\n  redis_port: ${redisPort}\n` +
      `  redis_db: ${redisDb}\n`,
  );
  const mem = await startEngine(govCfg, path.join(tmp, 'port-limits-memory.json'));
  const red = await startEngine(redisCfg, path.join(tmp, 'port-limits-redis.json'));
  kids.push(mem.child, red.child);
  const keyed = async (port) => {
    const made = await fetch(`http://127.0.0.1:${port}/key/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` },
      body: JSON.stringify({ models: ['bench'], rpm_limit: 1e9, tpm_limit: 1e12 }),
    });
    if (!made.ok) throw new Error(`/key/generate answered ${made.status}: ${await made.text()}`);
    const key = (await made.json()).key;
    return {
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    };
  };
  const [a, b] = [await keyed(mem.port), await keyed(red.port)];
  const body = JSON.stringify({
    model: 'bench',
    messages: [{ role: 'user', content: 'Say something.' }],
    max_tokens: 8,
  });
  const ac = (t) =>
    autocannon({
      url: t.url,
      method: 'POST',
      headers: t.headers,
      body,
      connections: 50,
      pipelining: 1,
      duration: secs.load,
    });
  await ac(a);
  await ac(b);
  // each engine's CPU (utime + stime) per request served, summed over the rounds
  const cpu = { m: [0, 0], r: [0, 0] };
  const loadOn = async (t) => {
    const [side, pid] = t === a ? [cpu.m, mem.child.pid] : [cpu.r, red.child.pid];
    const c0 = cpuOf([pid])[1];
    const res = await ac(t);
    side[0] += cpuOf([pid])[1] - c0;
    side[1] += res.requests.total;
    return res;
  };
  const rounds = [];
  for (let i = 0; i < secs.rounds + 2; i++) {
    const [x, y] = i % 2 === 0 ? [a, b] : [b, a];
    const rx = await loadOn(x);
    const ry = await loadOn(y);
    const [m, r] = x === a ? [rx, ry] : [ry, rx];
    rounds.push({ m, r, ratio: r.requests.average / m.requests.average });
    log(
      `  round ${i + 1}: in-memory ${Math.round(m.requests.average)} req/s, ` +
        `redis ${Math.round(r.requests.average)} req/s (${(100 * rounds.at(-1).ratio).toFixed(1)}%)`,
    );
  }
  await Promise.all([stopEngine(mem.child), stopEngine(red.child)]);
  const mid = [...rounds].sort((x, y) => x.ratio - y.ratio)[Math.floor(rounds.length / 2)];
  return {
    memory_rps: round(mid.m.requests.average),
    redis_rps: round(mid.r.requests.average),
    throughput_ratio: round(mid.ratio, 3),
    round_ratios: rounds.map((x) => round(x.ratio, 3)),
    memory_p50_ms: mid.m.latency.p50,
    redis_p50_ms: mid.r.latency.p50,
    memory_cpu_us_per_req: round(cpu.m[0] / cpu.m[1], 1),
    redis_cpu_us_per_req: round(cpu.r[0] / cpu.r[1], 1),
    errors: rounds.reduce((n, x) => n + x.r.errors + x.r.non2xx + x.r.timeouts, 0),
  };
}

/**
 * Start-up: spawns of `node -e 0`, `kubiya --help` and `kubiya --version`, interleaved (n each, a warm-up first)
 * so a busy machine slows all three alike; medians and their ratios. Then the engine's cold start with the
 * mock config (templates/mock.yaml), spawn to /health/readiness 200, n/3 times.
 */
async function startupRound(n, quiet) {
  const { spawnSync } = await import('node:child_process');
  const bin = path.join(ROOT, 'bin/kubiya.js');
  const cases = { node: ['-e', '0'], help: [bin, '--help'], version: [bin, '--version'] };
  const times = { node: [], help: [], version: [] };
  for (let i = -1; i < n; i++) {
    for (const [k, args] of Object.entries(cases)) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
      if (i >= 0) times[k].push(performance.now() - t0);
    }
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-bench-startup-'));
  const colds = [];
  try {
    for (let i = 0; i < Math.max(3, Math.round(n / 3)); i++) {
      const e = await startEngine(path.join(ROOT, 'templates/mock.yaml'), path.join(tmp, `port-${i}.json`));
      colds.push(e.coldMs);
      await stopEngine(e.child);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = {
    runs: n,
    node_ms: round(med.node),
    help_ms: round(med.help),
    version_ms: round(med.version),
    help_ratio: round(med.help / med.node, 2),
    version_ratio: round(med.version / med.node, 2),
    mock_cold_start_ms: round(median(colds)),
  };
  if (!quiet)
    process.stderr.write(
      `start-up (median of ${n}): node -e 0 ${out.node_ms} ms, kubiya --help ${out.help_ms} ms ` +
        `(${out.help_ratio}x), --version ${out.version_ms} ms (${out.version_ratio}x); ` +
        `proxy start (mock config) to readiness ${out.mock_cold_start_ms} ms\n`,
    );
  return out;
}

async function startEngine(cfg, portFile, extra = []) {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      process.env.KUBIYA_BENCH_ENTRY || path.join(ROOT, 'bin/kubiya.js'),
      'proxy',
      'start',
      '--config',
      cfg,
      '--port',
      '0',
      '--port-file',
      portFile,
      '--drain-timeout',
      '2',
      // the virtual-key and spend store (the master key turns it on): its own file, never ~/.kubiya
      '--db-path',
      `${portFile}.db`,
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let port;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`engine exited with ${child.exitCode}`);
    if (port === undefined) {
      try {
        port = JSON.parse(fs.readFileSync(portFile, 'utf8')).port;
      } catch {
        /* not yet */
      }
    }
    if (port !== undefined && (await status(port, '/health/readiness')) === 200) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  return { child, port, coldMs: performance.now() - t0 };
}

function stopEngine(child) {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', r);
    child.kill('SIGTERM');
  });
}

function status(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
  });
}

/** One keep-alive connection, one request at a time, for `ms`; returns per-request ms (or time to first byte). */
async function sequential(target, body, ms, ttfb = false) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    out.push(
      await new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = http.request({ ...target, method: 'POST', agent }, (res) => {
          let first;
          res.on('data', () => {
            first ??= performance.now() - t0;
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(ttfb ? first : performance.now() - t0)
              : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        });
        req.on('error', reject);
        req.end(body);
      }),
    );
  }
  agent.destroy();
  return out;
}

/** CPU time (user + sys, µs) of this process and of the given pids (Linux /proc). */
function cpuOf(pids) {
  const self = process.cpuUsage();
  const tick = 1e6 / 100; // USER_HZ
  return [
    self.user + self.system,
    ...pids.map((pid) => {
      try {
        const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) * tick;
      } catch {
        return 0;
      }
    }),
  ];
}

/**
 * Resident memory of a process while the load runs (Linux /proc): the highest VmRSS sampled every
 * 50 ms, and the kernel's lifetime peak VmHWM (which also holds start-up and JIT warm-up transients).
 */
function sampleRss(pid) {
  const read = (field) => {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, read('VmRSS'));
  }, 50);
  return {
    stop: () => {
      clearInterval(t);
      return { underLoad: Math.max(peak, read('VmRSS')), lifetime: read('VmHWM') };
    },
  };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const total = xs.reduce((a, b) => a + b, 0);
  return { p50: q(0.5), p99: q(0.99), n: xs.length, rps: xs.length / (total / 1000) };
}
function median(xs) {
  return stats(xs).p50;
}
function round(x, d = 1) {
  return Number(x.toFixed(d));
}
function f(x, d = 3) {
  return String(round(x, d)).padStart(7);
}
