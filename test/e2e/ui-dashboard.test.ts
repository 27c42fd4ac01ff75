/**
 * The dashboard end to end in headless Chromium: log in, see the config's models, create a key and use it
 * with the official openai SDK, see the request arrive in Logs (live) and its cost in Usage, add a model
 * through the page and call it, delete it and see /v1/models change, and a wrong password refused.
 * KUBIYA_UI_SCREENSHOTS=<dir> also saves each page at 1280 and 390 px (docs/ui.md shows them).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, MASTER, startUiEngine, type UiEngine } from './ui-helpers.js';

const SHOTS = process.env.KUBIYA_UI_SCREENSHOTS;

const CONFIG = {
  model_list: [
    { model_name: 'gpt-4o-mini', litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'Hi from the mock.' } },
    { model_name: 'claude-sonnet', litellm_params: { model: 'anthropic/claude-sonnet-4-5', mock_response: 'Hello.' } },
  ],
  general_settings: { store_model_in_db: true },
};

describe.skipIf(!hasChromium)('the /ui dashboard in Chromium', () => {
  let engine: UiEngine;
  let browser: Browser;
  let page: Page;
  const urls: string[] = [];

  beforeAll(async () => {
    engine = await startUiEngine(CONFIG, { LITELLM_SALT_KEY: 'ui-test-salt-0123456789' });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('request', (r) => urls.push(r.url()));
    page.on('dialog', (d) => void d.accept());
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
  };
  const go = async (hash: string, heading: string) => {
    await page.click(`nav a[href="#/${hash}"]`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  it('refuses a wrong password and logs in with the master key', async () => {
    await page.goto(`${engine.url}/ui`);
    await page.getByLabel('Password or key').waitFor();
    await shot('login');
    await page.getByLabel('Password or key').fill('sk-not-the-master-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Invalid username or password');
    await page.getByLabel('Password or key').fill(MASTER);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
  });

  it("shows the config's models, read-only", async () => {
    await page.getByRole('heading', { level: 2, name: /gpt-4o-mini/ }).waitFor();
    await page.getByRole('heading', { level: 2, name: /claude-sonnet/ }).waitFor();
    const text = await page.locator('main').textContent();
    expect(text).toContain('openai/gpt-4o-mini');
    expect(text).toContain('in rotation');
    await shot('models');
  });

  let key = '';
  it('creates a key that is shown once and works with the openai SDK', async () => {
    await go('keys', 'Keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByLabel('Alias').fill('ui-made-key');
    await page.getByLabel('Max budget (USD)').fill('5');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    key = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(key).toMatch(/^sk-/);
    await shot('keys-created');
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.locator('main').textContent()).resolves.toContain('ui-made-key');
    // the key never travels in a URL
    expect(urls.some((u) => u.includes(key) || u.includes(MASTER))).toBe(false);
  });

  it('shows the request live in Logs, then its cost in Usage', async () => {
    await go('logs', 'Logs');
    await page.getByText('● live').waitFor();
    const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: key, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello dashboard' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Hi from the mock.');
    const id = response.headers.get('x-request-id') ?? response.headers.get('x-litellm-call-id');
    expect(id).toBeTruthy();
    const row = page.locator(`tr[data-request-id="${id}"]`);
    await row.waitFor({ timeout: 5000 });
    await expect(row.textContent()).resolves.toContain('gpt-4o-mini');
    await expect(row.textContent()).resolves.toContain('ui-made-key');
    await shot('logs');
    // spend reaches the daily rollups off the request path: look until it is there
    let spend = '$0';
    const until = Date.now() + 20_000; // a busy machine (CI runs three suites' worth of engines) can take seconds
    for (let i = 0; Date.now() < until && spend === '$0'; i++) {
      await go(i % 2 ? 'usage' : 'health', i % 2 ? 'Usage' : 'Health');
      if (i % 2) spend = (await page.getByTestId('total-spend').textContent()) ?? '$0';
      if (spend === '$0') await new Promise((r) => setTimeout(r, 150));
    }
    expect(spend).not.toBe('$0');
    expect(Number(await page.getByTestId('total-tokens').textContent())).toBeGreaterThan(0);
    await shot('usage');
  });

  it('adds a model through the page, which answers; deleting it removes it from /v1/models', async () => {
    await go('models', 'Models');
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.getByLabel('Model name').fill('ui-added');
    await page.getByLabel('Provider model').fill('openai/gpt-4o-mini');
    await page.getByLabel('Mock response').fill('Added through the dashboard.');
    await page.getByRole('button', { name: 'Save model' }).click();
    await page.getByRole('heading', { level: 2, name: /ui-added/ }).waitFor();
    const admin = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: MASTER, maxRetries: 0 });
    const r = await admin.chat.completions.create({ model: 'ui-added', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0].message.content).toBe('Added through the dashboard.');
    expect((await admin.models.list()).data.map((m) => m.id)).toContain('ui-added');

    const card = page.locator('.card', { has: page.getByRole('heading', { level: 2, name: /ui-added/ }) });
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await admin.models.list()).data.map((m) => m.id)).not.toContain('ui-added');
  });

  it('checks deployments on the Health page and shows teams', async () => {
    await go('health', 'Health');
    await page.getByRole('button', { name: 'Check deployments' }).click();
    await page.getByText('healthy', { exact: true }).first().waitFor();
    await shot('health');
    await go('people', 'Teams and users');
    await page.getByLabel('Team name').fill('platform');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByRole('cell', { name: 'platform' }).waitFor();
    await shot('people');
  });

  it('logs out: the session no longer opens the API', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Password or key').waitFor();
    const r = await page.evaluate(async () => (await fetch('api/key/list')).status);
    expect(r).toBe(401);
  });
});
