/**
 * Where the engine's prices come from: the bundled table, or LITELLM_MODEL_COST_MAP_URL (a local server
 * here), falling back to the bundled table with a warning when the URL fails; LITELLM_LOCAL_MODEL_COST_MAP
 * skips the fetch.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePriceMap, loadPrices, priceMapOfText } from '../../src/engine/cost/prices.js';
import { type Listening, listenLoopback, refusedUrl } from '../fakes/fake-server.js';

const CUSTOM = {
  last_updated: '2026-01-01',
  'my-model': {
    input_cost_per_token: 0.000002,
    output_cost_per_token: 0.000004,
    litellm_provider: 'openai',
    supports_vision: true,
    supports_function_calling: false,
  },
};
let server: Listening;
let hits = 0;

beforeAll(async () => {
  server = await listenLoopback(
    http.createServer((req, res) => {
      hits++;
      if (req.url === '/map.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(CUSTOM));
      } else if (req.url === '/slow.json') {
        setTimeout(() => res.end('{}'), 2000);
      } else {
        res.writeHead(500);
        res.end('down');
      }
    }),
  );
});
afterAll(() => server.close());

function load(env: Record<string, string>, timeoutMs?: number) {
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const p = loadPrices({ env, warn: (message, fields) => warnings.push({ message, fields }), timeoutMs });
  return { p, warnings };
}

describe('the price map the engine loads', () => {
  it('is the bundled table by default', async () => {
    const { p, warnings } = load({});
    const map = await p;
    expect(map.get('gpt-4o-mini')).toMatchObject({ input: 1.5e-7, output: 6e-7, cacheRead: 7.5e-8 });
    expect(map.size).toBeGreaterThan(2000);
    expect(warnings).toEqual([]);
  });

  it('is replaced by the map at LITELLM_MODEL_COST_MAP_URL', async () => {
    const { p, warnings } = load({ LITELLM_MODEL_COST_MAP_URL: `${server.url}/map.json` });
    const map = await p;
    expect(map.size).toBe(1);
    expect(map.get('gpt-4o-mini')).toBeUndefined();
    expect(map.get('my-model')).toMatchObject({ input: 0.000002, output: 0.000004, provider: 'openai' });
    // capability flags are kept (what /model_group/info shows)
    expect(map.get('my-model')?.supports).toEqual({ supports_vision: true, supports_function_calling: false });
    expect(warnings).toEqual([]);
  });

  it('falls back to the bundled table with a warning when the URL fails (status, refused, timeout)', async () => {
    for (const url of [`${server.url}/broken.json?token=abc`, await refusedUrl(), `${server.url}/slow.json`]) {
      const { p, warnings } = load({ LITELLM_MODEL_COST_MAP_URL: url }, 300);
      const map = await p;
      expect(map.get('gpt-4o-mini')?.input).toBe(1.5e-7);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toMatch(/bundled model price map/);
      expect(JSON.stringify(warnings[0].fields)).not.toContain('token=abc');
    }
  });

  it('skips the fetch with LITELLM_LOCAL_MODEL_COST_MAP=True', async () => {
    const before = hits;
    const { p, warnings } = load({
      LITELLM_MODEL_COST_MAP_URL: `${server.url}/map.json`,
      LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    });
    expect((await p).get('my-model')).toBeUndefined();
    expect(hits).toBe(before);
    expect(warnings).toEqual([]);
  });
});

describe('the bundled table as the build ships it (one model a line, entries parsed on first look-up)', () => {
  const src = readFileSync(new URL('../../src/engine/cost/prices.json', import.meta.url), 'utf8');
  const whole = compilePriceMap(JSON.parse(src));

  it('prices every model exactly as the whole JSON does', () => {
    // npm test builds first; this is the file the engine reads
    const built = readFileSync(new URL('../../dist/bundle/prices.json', import.meta.url), 'utf8');
    expect(built.split('\n').length).toBeGreaterThan(2000);
    const lazy = priceMapOfText(built);
    for (const name of Object.keys(JSON.parse(src))) expect(lazy.get(name), name).toEqual(whole.get(name));
    expect(lazy.size).toBe(whole.size);
    expect(lazy.get('no-such-model')).toBeUndefined();
  });

  it('reads a name with an escape in it, and any other layout, by parsing the whole text', () => {
    const entry = { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 };
    const text = `{\n${JSON.stringify('we"ird')}:${JSON.stringify(entry)},\n"plain":${JSON.stringify(entry)}\n}\n`;
    for (const t of [text, JSON.stringify({ 'we"ird': entry, plain: entry }, null, 2)]) {
      const map = priceMapOfText(t);
      expect(map.get('we"ird')).toMatchObject({ input: 1e-6, output: 2e-6 });
      expect(map.get('plain')).toMatchObject({ input: 1e-6, output: 2e-6 });
      expect(map.size).toBe(2);
    }
  });
});
