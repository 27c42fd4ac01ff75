import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineChildArgs, readPortFile, removeOwnPortFile, writePortFile } from '../../src/engine/child-contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the engine child-process contract', () => {
  it('passes loopback, the port, the port file and --exit-with-parent to proxy start', () => {
    const args = engineChildArgs({ configFile: '/q/litellm_config.yaml', port: 0, portFile: '/q/engine.port.json' });
    expect(args.slice(0, 2)).toEqual(['proxy', 'start']);
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect([flag('--config'), flag('--host'), flag('--port'), flag('--port-file')]).toEqual([
      '/q/litellm_config.yaml',
      '127.0.0.1',
      '0',
      '/q/engine.port.json',
    ]);
    expect(args).toContain('--exit-with-parent');
  });

  it(
    'the port file the engine writes is what the supervisor reads, for that pid only; ' +
      'the engine removes only its own',
    () => {
      const file = path.join(dir, 'engine.port.json');
      expect(readPortFile(file, 42)).toBeUndefined();
      writePortFile(file, { pid: 42, host: '127.0.0.1', port: 4321, url: 'http://127.0.0.1:4321' });
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
      expect(readPortFile(file, 42)).toEqual({ port: 4321, url: 'http://127.0.0.1:4321' });
      expect(readPortFile(file, 43)).toBeUndefined(); // a previous engine's file
      removeOwnPortFile(file, 43);
      expect(fs.existsSync(file)).toBe(true);
      removeOwnPortFile(file, 42);
      expect(fs.existsSync(file)).toBe(false);
    },
  );
});
