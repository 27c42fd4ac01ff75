import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeHome } from './config-run.js';

// README: "Every command has --help with examples." A user reading `kubiya X --help` must see at
// least one runnable line for X, and help never shows a secret from the environment.
const COMMANDS = [
  ['config', 'get-contexts'],
  ['config', 'current-context'],
  ['config', 'use-context'],
  ['config', 'set-context'],
  ['config', 'set-proxy'],
  ['config', 'delete-context'],
  ['config', 'rename-context'],
  ['config', 'view'],
  ['worker', 'start'],
  ['worker', 'stop'],
  ['worker', 'status'],
  ['worker', 'logs'],
  ['worker', 'list'],
  ['proxy', 'start'],
  ['proxy', 'validate'],
];

describe('--help of every command', () => {
  it.each(COMMANDS)('kubiya %s %s --help has examples of itself and no secret', async (group, cmd) => {
    const h = makeHome();
    try {
      const r = await h.run([group, cmd, '--help'], {
        KUBIYA_API_KEY: 'kk-HELPSECRET-4242',
        LITELLM_MASTER_KEY: 'sk-HELPMASTER-4242',
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toMatch(new RegExp(`^\\s+(\\S+=\\S+ )*kubiya ${group} ${cmd}\\b`, 'm'));
      expect(r.stdout).not.toMatch(/HELPSECRET|HELPMASTER/);
    } finally {
      h.cleanup();
    }
  });

  it('worker start --help shows the proxy readiness default', async () => {
    const h = makeHome();
    try {
      const r = await h.run(['worker', 'start', '--help']);
      expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/--proxy-timeout <s> .*else 30\)/);
    } finally {
      h.cleanup();
    }
  });
});

// One parser for -o/--output on every command that has it: an unknown format is a usage error
// (exit 2) naming the accepted values, before the command does anything.
const WITH_OUTPUT = [
  ['config', 'get-contexts'],
  ['config', 'current-context'],
  ['config', 'view'],
  ['worker', 'status'],
  ['worker', 'list'],
  ['proxy', 'validate', path.resolve(__dirname, '../../templates/mock.yaml')],
  ['worker', 'start', '--queue-id', 'q', '--dry-run'],
];

describe('-o/--output', () => {
  it.each(WITH_OUTPUT)('kubiya %s %s -o yaml is exit 2 naming text and json', async (...args) => {
    const h = makeHome();
    try {
      for (const flag of [['-o', 'yaml'], ['--output=yaml']]) {
        const r = await h.run([...args, ...flag]);
        expect([r.code, r.stderr, r.stdout]).toEqual([
          2,
          'error: -o/--output must be one of text, json; found "yaml"',
          '',
        ]);
      }
      expect(fs.existsSync(path.join(h.home, '.kubiya'))).toBe(false);
    } finally {
      h.cleanup();
    }
  });
});
