/**
 * Big request bodies take the engine's memory-frugal paths (read into one buffer by Content-Length, sent
 * upstream in UTF-8 slices) and arrive byte for byte: surrogate pairs at slice edges, multi-byte text, and a
 * body without Content-Length (chunked) alike. How much memory a burst leaves behind is `npm run bench`'s.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingFake, sendJson, startFake } from '../fakes/fake-server.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const ANSWER = {
  id: 'c1',
  object: 'chat.completion',
  created: 1,
  model: 'x',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
};

let upstream: RecordingFake;
let engine: TestEngine;

beforeAll(async () => {
  upstream = await startFake((_call, res) => sendJson(res, 200, ANSWER));
  engine = await startTestEngine({
    model_list: [
      { model_name: 'm', litellm_params: { model: 'openai/x', api_base: `${upstream.url}/v1`, api_key: 'k' } },
    ],
  });
});
afterAll(async () => {
  await engine?.close();
  await upstream?.close();
});

/** POST a body, with Content-Length or chunked (no length); the status. */
function send(body: string, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${engine.url}/v1/chat/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    if (!chunked) req.setHeader('content-length', Buffer.byteLength(body));
    // several writes: the engine sees the body in many socket chunks
    const b = Buffer.from(body);
    for (let i = 0; i < b.length; i += 100_000) req.write(b.subarray(i, i + 100_000));
    req.end();
  });
}

describe('big request bodies', () => {
  // emoji (surrogate pairs) at both parities, so some slice edges fall between the halves of a pair; accents
  const messages = [
    { role: 'user', content: '😀'.repeat(400_000) },
    { role: 'user', content: `b${'😀'.repeat(400_000)}` },
    { role: 'user', content: 'é, ü, 漢字 '.repeat(100_000) },
  ];

  for (const chunked of [false, true]) {
    it(`reach the upstream intact (${chunked ? 'chunked' : 'with Content-Length'})`, async () => {
      const before = upstream.calls.length;
      expect(await send(JSON.stringify({ model: 'm', messages }), chunked)).toBe(200);
      const call = upstream.calls[before];
      expect(call.body.messages).toEqual(messages);
      expect(Number(call.headers['content-length'])).toBe(Buffer.byteLength(call.raw));
    });
  }
});
