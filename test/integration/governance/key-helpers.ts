/** Shared by the virtual-key tests: a mock-model config, management calls, an openai client per key. */
import OpenAI from 'openai';
import type { TestEngine } from '../engine-helpers.js';

export const MASTER = 'sk-master-key-for-tests';

/** Models answered by mock_response (no upstream), with an access group, a wildcard and a router alias. */
export const CONFIG = {
  model_list: [
    { model_name: 'gpt-a', litellm_params: { model: 'openai/gpt-a', mock_response: 'from a' } },
    {
      model_name: 'gpt-b',
      litellm_params: { model: 'openai/gpt-b', mock_response: 'from b' },
      model_info: { access_groups: ['beta-models'] },
    },
    { model_name: 'gpt-c', litellm_params: { model: 'openai/gpt-c', mock_response: 'from c' } },
    { model_name: 'vendor/*', litellm_params: { model: 'openai/*', mock_response: 'from vendor' } },
  ],
  router_settings: { model_group_alias: { 'a-alias': 'gpt-a' } },
  general_settings: { master_key: MASTER },
};

export interface Answer {
  status: number;
  json: any;
}

/** A management call with `key` (default: the master key). GET sends `body` as the query string. */
export async function call(
  engine: TestEngine,
  method: 'GET' | 'POST',
  path: string,
  body: Record<string, unknown> = {},
  key = MASTER,
): Promise<Answer> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const qs = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
  const res =
    method === 'GET'
      ? await fetch(`${engine.url}${path}${qs ? `?${qs}` : ''}`, { headers })
      : await fetch(`${engine.url}${path}`, { method, headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** POST /key/generate as the master key; throws unless 200. */
export async function generate(engine: TestEngine, body: Record<string, unknown> = {}, key = MASTER): Promise<any> {
  const r = await call(engine, 'POST', '/key/generate', body, key);
  if (r.status !== 200) throw new Error(`/key/generate ${r.status}: ${JSON.stringify(r.json)}`);
  return r.json;
}

/** The official openai client with a virtual key. */
export function client(engine: TestEngine, key: string): OpenAI {
  return new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: key, maxRetries: 0, timeout: 10_000 });
}

/** One chat call; the answer's text, or the SDK's error. */
export async function chat(engine: TestEngine, key: string, model = 'gpt-a'): Promise<string | any> {
  try {
    const r = await client(engine, key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    return r.choices[0].message.content;
  } catch (e) {
    return e;
  }
}
