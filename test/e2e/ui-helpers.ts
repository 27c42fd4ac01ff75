/**
 * The dashboard's test rig: an engine with a master key and a store in a temp dir, and Debian's Chromium
 * driven by playwright-core (no browser download: `.ci/run` installs the `chromium` package when missing).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, startEngine } from '../../src/engine/index.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const MASTER = 'sk-ui-master-0123456789';

export interface UiEngine extends EngineHandle {
  logs: string[];
  dir: string;
  stop(): Promise<void>;
}

export async function startUiEngine(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<UiEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'kubiya-ui-'));
  const full = { ...config, general_settings: { master_key: MASTER, ...(config.general_settings as object) } };
  const loaded = loadLiteLLMConfig({ kind: 'object', value: full, label: 'test-config' }, { env });
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', secrets: loaded.secretValues, write: (l) => logs.push(l) });
  const engine = await startEngine({
    loaded,
    port: 0,
    logger,
    env,
    drainTimeoutMs: 1000,
    governance: { path: join(dir, 'governance.db') },
  });
  return Object.assign(engine, {
    logs,
    dir,
    async stop() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
