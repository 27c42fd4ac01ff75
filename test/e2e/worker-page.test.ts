/**
 * The worker's web page: `worker start` prints its URL with a per-run token; the page (in Chromium) shows the
 * queue, the worker and proxy state, the served models and the usage, and both logs live over one event
 * stream; without the token, with a wrong one, or under another Host name it answers nothing; -d prints it
 * too; --no-webui turns it off.
 */
import http from 'node:http';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli,
  cliInProcess,
  FIXTURES,
  pidFile,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from '../integration/worker-helpers.js';
import { hasChromium, launchChromium } from './ui-helpers.js';

const PAGE = /worker page: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/;

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('the worker page', { timeout: 90_000 }, () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (hasChromium) browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  it.skipIf(!hasChromium)(
    'shows state, models, usage and live logs, opened by the printed URL only',
    async ({ onTestFinished }) => {
      const h = testHome(onTestFinished);
      const p = spawnCli(startArgs('page-1', ['node', path.join(FIXTURES, 'loop-worker.mjs')]), testEnv(h));
      onTestFinished(async () => {
        if (p.exitCode === null) p.kill('SIGTERM');
        await p.done;
      });
      const url = (await until(() => PAGE.exec(p.err() + p.out()), 'the page URL'))[1];
      const base = url.slice(0, url.indexOf('?'));
      // the token opens it; nothing else does
      expect((await get(base)).status).toBe(401);
      expect((await get(`${base}?token=not-the-token`)).status).toBe(401);
      expect((await get(`${base}api/status`)).status).toBe(401);
      const port = new URL(base).port;
      expect((await get(url, { host: `evil.example:${port}` })).status).toBe(421);
      // the pid file names the page without its token
      expect(pidFile(h, 'page-1')?.webui).toBe(base);

      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url);
      expect(page.url()).toBe(base); // the token left the address bar
      await page.getByText('● live').waitFor();
      // the first status event follows the stream's opening
      await until(async () => (await page.locator('#queue').textContent()) === 'page-1', 'the queue id shown');
      const worker = page.locator('#worker');
      await until(async () => /running/.test((await worker.textContent()) ?? ''), 'the worker running');
      const proxy = (await page.locator('#proxy').textContent()) ?? '';
      expect(proxy).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
      expect(proxy).toContain('gpt-4o-mini');
      // the worker's calls show up in its log pane and in the usage
      await until(async () => /call ok/.test((await page.locator('#log-worker').textContent()) ?? ''), 'worker log');
      await until(
        async () => /requests\s*[1-9]/.test((await page.locator('#usage').textContent()) ?? ''),
        'usage counted',
      );
      await until(async () => /listening/.test((await page.locator('#log-proxy').textContent()) ?? ''), 'proxy log');
      if (process.env.KUBIYA_UI_SCREENSHOTS)
        await page.screenshot({ path: path.join(process.env.KUBIYA_UI_SCREENSHOTS, 'worker-page-1280.png') });
      await page.close();
      p.kill('SIGTERM');
      expect((await p.done).code).toBe(0);
      // gone with the run
      await expect(get(base)).rejects.toThrow();
    },
  );

  it('-d prints the page URL; --no-webui has none', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const d = await cli(startArgs('page-2', ['node', path.join(FIXTURES, 'loop-worker.mjs')], { daemon: true }), env);
    expect(d.code).toBe(0);
    const url = PAGE.exec(d.stdout.replace(/worker page:\s+/, 'worker page: '))?.[1];
    expect(url).toBeTruthy();
    expect((await get(url!)).status).toBe(303);
    expect((await cliInProcess(['worker', 'stop', '--queue-id', 'page-2'], env)).code).toBe(0);

    const off = spawnCli(
      startArgs('page-3', ['node', path.join(FIXTURES, 'loop-worker.mjs')], { flags: ['--no-webui'] }),
      env,
    );
    await until(() => /call ok/.test(off.out()), 'a call', 45_000);
    expect(off.err() + off.out()).not.toContain('worker page:');
    expect(pidFile(h, 'page-3')?.webui).toBeUndefined();
    off.kill('SIGTERM');
    expect((await off.done).code).toBe(0);
  });
});
