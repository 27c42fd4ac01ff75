/**
 * A fake OpenAI-style media API on 127.0.0.1, as OpenAI, Azure OpenAI (`/openai/deployments/<d>/...`), Groq
 * (`/openai/v1/...`) and Jina AI serve it: `POST /moderations`, `/images/generations` (`b64_json` or `url`),
 * `/audio/transcriptions` (multipart/form-data in; json, text, srt, vtt, verbose_json out), `/audio/speech`
 * (audio written in several chunks, content-type by format) and `/rerank` (Jina's shape: `results[]` with
 * `document.text`, `usage.total_tokens`). `fail(n, status)` answers the next n requests with an error.
 */
import type http from 'node:http';
import { type RecordedCall, sendJson, startFake } from './fake-server.js';

export interface MediaFake {
  url: string;
  calls: RecordedCall[];
  /** the form each transcription request carried: its text fields, and the file's name, type and bytes */
  forms: { fields: Record<string, string[]>; file?: { name: string; type: string; bytes: Buffer } }[];
  /** answer the next `n` requests with `status` (OpenAI's error shape) */
  fail(n: number, status: number): void;
  close(): Promise<void>;
}

/** The audio every speech answer starts with (an MP3 frame header's first bytes), then the input's bytes. */
export const FAKE_AUDIO_HEAD = Buffer.from([0xff, 0xf3, 0x44, 0xc4]);
const AUDIO_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
};
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

export async function startMediaUpstream(): Promise<MediaFake> {
  let failing = 0;
  let failStatus = 500;
  const forms: MediaFake['forms'] = [];
  const fake = await startFake(async (call, res, req) => {
    if (failing > 0) {
      failing--;
      return sendJson(res, failStatus, { error: { message: `fake failure ${failStatus}`, type: 'server_error' } });
    }
    const path = call.path
      .split('?')[0]
      .replace(/^\/openai\/deployments\/[^/]+/, '')
      .replace(/^(\/openai)?\/v1/, '');
    switch (path) {
      case '/moderations':
        return moderation(call, res);
      case '/images/generations':
        return images(call, res);
      case '/audio/transcriptions':
        return transcription(call, res, req, forms);
      case '/audio/speech':
        return speech(call, res);
      case '/rerank':
        return rerank(call, res);
      default:
        return sendJson(res, 404, { error: { message: `no route ${call.path}` } });
    }
  });
  return {
    url: fake.url,
    calls: fake.calls,
    forms,
    fail(n, status) {
      failing = n;
      failStatus = status;
    },
    close: fake.close,
  };
}

function moderation(call: RecordedCall, res: http.ServerResponse): void {
  const input = call.body?.input;
  const list = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
  if (!list) return sendJson(res, 400, { error: { message: "'input' is required", param: 'input' } });
  const results = list.map((t: string) => {
    const flagged = /kill|hurt/i.test(String(t));
    return {
      flagged,
      categories: { violence: flagged, harassment: false, 'self-harm': false },
      category_scores: { violence: flagged ? 0.93 : 0.001, harassment: 0.002, 'self-harm': 0.0001 },
    };
  });
  sendJson(res, 200, { id: 'modr-fake-1', model: call.body.model ?? 'omni-moderation-latest', results });
}

function images(call: RecordedCall, res: http.ServerResponse): void {
  const b = call.body;
  if (typeof b?.prompt !== 'string') return sendJson(res, 400, { error: { message: "'prompt' is required" } });
  const n = typeof b.n === 'number' ? b.n : 1;
  const url = b.response_format === 'url';
  const data = Array.from({ length: n }, (_, i) =>
    url
      ? { url: `https://images.example.test/img-${i}.png`, revised_prompt: `revised: ${b.prompt}` }
      : { b64_json: PNG_B64, revised_prompt: `revised: ${b.prompt}` },
  );
  const out: Record<string, unknown> = { created: 1_700_000_000, data };
  if (String(b.model).startsWith('gpt-image'))
    out.usage = { input_tokens: 12, output_tokens: 272 * n, total_tokens: 12 + 272 * n };
  sendJson(res, 200, out);
}

async function transcription(
  call: RecordedCall,
  res: http.ServerResponse,
  req: http.IncomingMessage,
  forms: MediaFake['forms'],
): Promise<void> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('multipart/form-data'))
    return sendJson(res, 400, { error: { message: 'expected multipart/form-data' } });
  // the fake's recorder keeps the body as latin1-safe text only for ASCII: the tests send ASCII "audio"
  const form = await new Response(call.raw, { headers: { 'content-type': type } }).formData();
  const fields: Record<string, string[]> = {};
  let file: MediaFake['forms'][number]['file'];
  for (const [k, v] of form.entries()) {
    if (typeof v === 'string') (fields[k] ??= []).push(v);
    else file = { name: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()) };
  }
  forms.push({ fields, file });
  if (!file) return sendJson(res, 400, { error: { message: "'file' is required", param: 'file' } });
  const text = `heard ${file.bytes.length} bytes from ${file.name}`;
  const format = fields.response_format?.[0] ?? 'json';
  if (format === 'text' || format === 'srt' || format === 'vtt') {
    const body =
      format === 'text'
        ? `${text}\n`
        : format === 'srt'
          ? `1\n00:00:00,000 --> 00:00:02,500\n${text}\n`
          : `WEBVTT\n\n${text}\n`;
    res.writeHead(200, { 'content-type': format === 'vtt' ? 'text/vtt' : 'text/plain; charset=utf-8' });
    res.end(body);
    return;
  }
  if (format === 'verbose_json')
    return sendJson(res, 200, {
      task: 'transcribe',
      language: fields.language?.[0] ?? 'english',
      duration: 2.5,
      text,
      segments: [{ id: 0, start: 0, end: 2.5, text }],
      words: fields.timestamp_granularities?.includes('word') ? [{ word: 'heard', start: 0, end: 0.4 }] : undefined,
    });
  sendJson(res, 200, { text });
}

async function speech(call: RecordedCall, res: http.ServerResponse): Promise<void> {
  const b = call.body;
  if (typeof b?.input !== 'string' || typeof b.voice !== 'string')
    return sendJson(res, 400, { error: { message: "'input' and 'voice' are required" } });
  const format = typeof b.response_format === 'string' ? b.response_format : 'mp3';
  res.writeHead(200, { 'content-type': AUDIO_TYPES[format] ?? 'application/octet-stream' });
  // several writes, as a real TTS stream sends audio as it is made
  for (const part of [FAKE_AUDIO_HEAD, Buffer.from(b.input), Buffer.from([0, 1, 2, 3])]) {
    if (res.destroyed) return;
    res.write(part);
    await new Promise((r) => setTimeout(r, 5));
  }
  res.end();
}

function rerank(call: RecordedCall, res: http.ServerResponse): void {
  const b = call.body;
  if (typeof b?.query !== 'string' || !Array.isArray(b.documents))
    return sendJson(res, 422, { detail: 'query and documents are required' });
  const words = new Set((b.query as string).toLowerCase().split(/\W+/));
  const text = (d: unknown) => (typeof d === 'string' ? d : String((d as { text?: unknown })?.text ?? ''));
  const results = (b.documents as unknown[]).map((d, index) => {
    const hits = text(d)
      .toLowerCase()
      .split(/\W+/)
      .filter((w) => words.has(w)).length;
    return { index, relevance_score: hits / (hits + 1), document: { text: text(d) } };
  });
  results.sort((x, y) => y.relevance_score - x.relevance_score);
  sendJson(res, 200, {
    model: b.model,
    usage: { total_tokens: 42 },
    results: typeof b.top_n === 'number' ? results.slice(0, b.top_n) : results,
  });
}
