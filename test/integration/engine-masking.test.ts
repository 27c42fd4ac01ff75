/**
 * Masking hides secrets in every encoding an upstream may echo them in (JSON with `\/` or `\u` escapes,
 * URL-encoded, in part), and hides nothing else: a non-secret that equals some environment value (an
 * `api_base` given as `os.environ/...`) is shown as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Listening, sendJson, startFake } from '../fakes/fake-server.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

// a key with characters that JSON and URLs escape: `/`, `"`, a non-ASCII letter
const KEY = 'sk-te/st"kéy-0123456789abcdef';
const escapes = {
  // Python's json.dumps (ensure_ascii): \" and \u00e9
  python: 'sk-te/st\\"k\\u00e9y-0123456789abcdef',
  // Java / PHP: also \/
  php: 'sk-te\\/st\\"k\\u00E9y-0123456789abcdef',
  url: encodeURIComponent(KEY),
  // the first characters and the last four, around stars, JSON-escaped
  partial: 'sk-te\\/st\\"k****cdef',
};
/** What must never show: any 8 characters of the key in a row, in any of its encodings. */
const LEAKS = [KEY, ...Object.values(escapes)].flatMap((k) => [k.slice(0, 9), k.slice(-9)]);

let upstream: Listening;
let engine: TestEngine;

beforeAll(async () => {
  // an upstream that echoes the key in one encoding per path, in a JSON error message and as raw text
  upstream = await startFake((call, res) => {
    const form = call.path.split('/')[1] as keyof typeof escapes | 'ok';
    if (form === 'ok') {
      const message = { role: 'assistant', content: 'fine' };
      const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
      sendJson(res, 200, {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'x',
        choices: [{ index: 0, message, finish_reason: 'stop' }],
        usage,
      });
      return;
    }
    if (call.path.includes('/raw/')) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`upstream failure; request was {"api_key":"${escapes[form]}"}`);
      return;
    }
    sendJson(res, 401, { error: { message: `Invalid API key: ${escapes[form]}` } });
  });
  const model_list = Object.keys(escapes).flatMap((form) => [
    {
      model_name: form,
      litellm_params: { model: 'openai/x', api_base: `${upstream.url}/${form}/v1`, api_key: 'os.environ/MY_KEY' },
    },
    {
      model_name: `${form}-raw`,
      litellm_params: { model: 'openai/x', api_base: `${upstream.url}/${form}/raw/v1`, api_key: KEY },
    },
  ]);
  // an api_base by reference: a URL, not a secret
  model_list.push({
    model_name: 'by-ref',
    litellm_params: { model: 'openai/x', api_base: 'os.environ/LOCAL_BASE', api_key: 'os.environ/MY_KEY' },
  });
  engine = await startTestEngine(
    { model_list, router_settings: { num_retries: 0 } },
    { env: { MY_KEY: KEY, LOCAL_BASE: `${upstream.url}/ok/v1`, SOME_TOKEN: upstream.url }, debug: true },
  );
});
afterAll(async () => {
  await engine?.close();
  await upstream?.close();
});

const leaks = (text: string) => LEAKS.filter((l) => text.includes(l));

describe('masking', () => {
  it('hides a key an upstream echoes JSON-escaped, URL-encoded or in part, from clients and logs', async () => {
    for (const form of Object.keys(escapes)) {
      for (const model of [form, `${form}-raw`]) {
        const r = await post(`${engine.url}/v1/chat/completions`, {
          model,
          messages: [{ role: 'user', content: 'x' }],
        });
        expect(r.status, model).toBeGreaterThanOrEqual(400);
        expect(leaks(r.text), `${model}: ${r.text}`).toEqual([]);
      }
    }
    expect(leaks(engine.logs.join('\n'))).toEqual([]);
  });

  it('shows a non-secret equal to an environment value (an api_base by reference) as it is', async () => {
    const info = await (await fetch(`${engine.url}/v1/model/info`)).json();
    const byRef = info.data.find((d: any) => d.model_name === 'by-ref');
    expect(byRef.litellm_params.api_base).toBe(`${upstream.url}/ok/v1`);
    const r = await post(`${engine.url}/v1/chat/completions`, {
      model: 'by-ref',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(r.headers.get('x-litellm-model-api-base')).toBe(`${upstream.url}/ok/v1`);
    const serving = engine.logs.find((l) => l.includes('serving model') && l.includes('by-ref'));
    expect(serving).toContain(`${upstream.url}/ok/v1`);
    expect(serving).not.toContain('****');
  });
});
