import { describe, expect, it } from 'vitest';
import { cli, startArgs, testEnv, testHome } from './worker-helpers.js';

// The worker looks up the engine's command line (as ps would) and what worker.pid records for `worker stop`.
const LOOK = `
const fs = require('node:fs');
const home = Buffer.from('HOME=' + process.env.HOME + '\\0');
for (const d of fs.readdirSync('/proc')) {
  try {
    if (!fs.readFileSync('/proc/' + d + '/environ').includes(home)) continue;
    const argv = fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').split('\\0');
    if (argv.includes('proxy') && argv.includes('start')) console.log('ENGINE ' + JSON.stringify(argv));
  } catch {}
}
const info = JSON.parse(fs.readFileSync(process.env.HOME + '/.kubiya/workers/d/worker.pid', 'utf8'));
console.log('RECORDED ' + JSON.stringify({ grace: info.grace_s, drain: info.drain_timeout_s }));
`;

describe('one drain budget', { timeout: 60_000 }, () => {
  it('--drain-timeout is the engine drain budget and what worker stop waits for', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const args = startArgs('d', ['node', '-e', LOOK], { graceSeconds: 4 });
    args.splice(args.indexOf('--'), 0, '--drain-timeout', '7');
    const r = await cli(args, testEnv(h));
    expect(r.code, r.stderr).toBe(0);
    const engine = JSON.parse(r.stdout.split('ENGINE ')[1].split('\n')[0]) as string[];
    expect(engine[engine.indexOf('--drain-timeout') + 1]).toBe('7');
    expect(r.stdout).toContain('RECORDED {"grace":4,"drain":7}');
  });
});
