#!/usr/bin/env node
// Run by hand (never at build or run time): node scripts/build-price-table.mjs <model_prices_and_context_window.json>
// Writes src/engine/cost/prices.json, the compact price table the engine ships: LiteLLM's model price map
// (BerriAI/litellm, MIT) reduced to the fields the cost formula and /v1/model/info read, for the models
// priced per token or per second. Update src/engine/cost/NOTICE.md (sync date) with it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = process.argv[2];
if (!src) {
  console.error('usage: node scripts/build-price-table.mjs <path to model_prices_and_context_window.json>');
  process.exit(2);
}
const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/engine/cost/prices.json');
const BASE = [
  'input_cost_per_token',
  'output_cost_per_token',
  'cache_read_input_token_cost',
  'cache_creation_input_token_cost',
  'cache_creation_input_token_cost_above_1hr',
  'output_cost_per_reasoning_token',
  'input_cost_per_second',
  'output_cost_per_second',
];
const TIERED = new RegExp(
  '^(?:input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|' +
    'cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost)' +
    '_above_\\d+k_tokens$',
);
const INFO = ['max_input_tokens', 'max_output_tokens', 'litellm_provider', 'mode'];
const PRICED = ['input_cost_per_token', 'output_cost_per_token', 'input_cost_per_second'];

const map = JSON.parse(fs.readFileSync(src, 'utf8'));
const out = {};
let kept = 0;
for (const name of Object.keys(map).sort()) {
  const e = map[name];
  if (name === 'sample_spec' || !e || typeof e !== 'object' || Array.isArray(e)) continue;
  if (!PRICED.some((k) => typeof e[k] === 'number')) continue;
  const row = {};
  for (const k of Object.keys(e).sort()) {
    const v = e[k];
    if ((BASE.includes(k) || TIERED.test(k)) && typeof v === 'number') row[k] = v;
    else if (INFO.includes(k) && (typeof v === 'number' || typeof v === 'string')) row[k] = v;
    // capability flags, for /model_group/info
    else if (k.startsWith('supports_') && typeof v === 'boolean') row[k] = v;
  }
  out[name] = row;
  kept++;
}
fs.writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
console.log(`${OUT}: ${kept} of ${Object.keys(map).length} entries`);
