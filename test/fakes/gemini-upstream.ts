/**
 * A fake Google generative API on 127.0.0.1 speaking both URL layouts: AI Studio
 * (`/v1beta/models/{model}:{method}`, key in `x-goog-api-key`) and Vertex AI
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}`, bearer token).
 * generateContent answers JSON, streamGenerateContent?alt=sse answers SSE (one event per text piece,
 * the last with finishReason and usageMetadata); errors use Google's `{"error":{code,message,status}}`.
 */
import type http from 'node:http';
import type { ContractFake, Script } from '../contract/harness.js';
import { sendJson, sendSse, startScriptedFake } from './fake-server.js';

/** Google-only scripts on top of the contract ones. */
export type GoogleScript =
  | Script
  /** a whole GenerateContentResponse (non-stream) or the list of stream events */
  | { type: 'raw'; body: unknown; events?: unknown[] }
  /** an HTTP error with a Google error body */
  | { type: 'google-error'; code: number; status: string; message: string; details?: unknown[] };

export interface GoogleFakeOptions {
  /** AI Studio: the only key accepted */
  apiKey?: string;
  /** Vertex: the bearer tokens accepted (read at request time) */
  tokens?: () => string[];
}

export interface GoogleFake extends ContractFake {
  script(s: GoogleScript): void;
}

const ROUTE = new RegExp(
  '^(?:\\/v1beta\\/models\\/|\\/v1\\/projects\\/[^/]+\\/locations\\/[^/]+\\/publishers\\/google\\/models\\/)' +
    '([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents|predict|countTokens)(\\?alt=sse)?$',
);

/** Start the fake. */
export async function startGoogleUpstream(opts: GoogleFakeOptions): Promise<GoogleFake> {
  let current: GoogleScript = { type: 'text', text: 'ok', usage: { input: 1, output: 1 } };
  const fake = await startScriptedFake(async (call, _s, res) => {
    if (opts.apiKey !== undefined && call.headers['x-goog-api-key'] !== opts.apiKey) {
      return err(res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]);
    }
    if (opts.tokens && !opts.tokens().some((t) => call.headers.authorization === `Bearer ${t}`)) {
      return err(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token.',
      );
    }
    const m = ROUTE.exec(call.path);
    if (!m) return err(res, 404, 'NOT_FOUND', `no route ${call.path}`);
    const [, , method, sse] = m;
    if (method === 'countTokens') return sendJson(res, 200, { totalTokens: 1 });
    if (method === 'batchEmbedContents')
      return sendJson(res, 200, {
        embeddings: call.body.requests.map(
          (r: { content: { parts: { text: string }[] }; outputDimensionality?: number }) => ({
            values: vec(r.content.parts[0].text, r.outputDimensionality),
          }),
        ),
      });
    // Imagen: `instances[].prompt`, `parameters.sampleCount` images back as base64 predictions
    if (method === 'predict' && m[1].startsWith('imagen')) {
      const n = call.body?.parameters?.sampleCount ?? 1;
      if (typeof call.body?.instances?.[0]?.prompt !== 'string')
        return err(res, 400, 'INVALID_ARGUMENT', 'instances[0].prompt is required');
      return sendJson(res, 200, {
        predictions: Array.from({ length: n }, () => ({ bytesBase64Encoded: IMAGEN_PNG_B64, mimeType: 'image/png' })),
      });
    }
    if (method === 'predict')
      return sendJson(res, 200, {
        predictions: call.body.instances.map((i: { content: string }) => ({
          embeddings: {
            values: vec(i.content, call.body.parameters?.outputDimensionality),
            statistics: { token_count: i.content.split(' ').length, truncated: false },
          },
        })),
      });
    await answer(res, current, method === 'streamGenerateContent', !!sse);
  });
  const setBase = fake.script;
  return Object.assign(fake, {
    script(s: GoogleScript) {
      current = s;
      setBase(s.type === 'hang' ? s : { type: 'text', text: '', usage: { input: 0, output: 0 } });
    },
  });
}

/** The image every Imagen answer holds (a 1x1 PNG). */
export const IMAGEN_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

function vec(text: string, n = 3): number[] {
  return Array.from({ length: n }, (_, i) => (text.length + i) / 10);
}

function err(
  res: http.ServerResponse,
  code: number,
  status: string,
  message: string,
  details?: unknown[],
  headers: Record<string, string> = {},
): void {
  sendJson(res, code, { error: { code, message, status, ...(details ? { details } : {}) } }, headers);
}

const ERRORS: Record<string, [number, string, (m: string) => string]> = {
  auth: [401, 'UNAUTHENTICATED', (m) => `Request had invalid authentication credentials. ${m}`],
  permission: [403, 'PERMISSION_DENIED', (m) => `Permission denied on resource project. ${m}`],
  not_found: [404, 'NOT_FOUND', (m) => `models/nope is not found for API version v1beta. ${m}`],
  rate_limit: [429, 'RESOURCE_EXHAUSTED', (m) => `Resource has been exhausted (e.g. check quota). ${m}`],
  context_window: [
    400,
    'INVALID_ARGUMENT',
    (m) => `The input token count (1200000) exceeds the maximum number of tokens allowed (1048576). ${m}`,
  ],
  overloaded: [503, 'UNAVAILABLE', (m) => `The model is overloaded. Please try again later. ${m}`],
};

async function answer(res: http.ServerResponse, s: GoogleScript, stream: boolean, sse: boolean): Promise<void> {
  if (s.type === 'hang') return;
  if (s.type === 'error') {
    const [code, status, text] = ERRORS[s.error] ?? [400, 'INVALID_ARGUMENT', (m: string) => m];
    return err(res, code, status, text(s.message), undefined, s.retryAfter ? { 'retry-after': s.retryAfter } : {});
  }
  if (s.type === 'google-error') return err(res, s.code, s.status, s.message, s.details);
  if (stream && !sse) return err(res, 400, 'INVALID_ARGUMENT', 'this fake streams with alt=sse only');
  if (s.type === 'raw')
    return stream
      ? sendSse(
          res,
          (s.events ?? [s.body]).map((e) => [undefined, e]),
        )
      : sendJson(res, 200, s.body);
  const usageMetadata = {
    promptTokenCount: s.usage.input,
    candidatesTokenCount: s.usage.output,
    totalTokenCount: s.usage.input + s.usage.output,
  };
  const cand = (parts: unknown[], finishReason?: string) => ({
    content: { role: 'model', parts },
    ...(finishReason ? { finishReason } : {}),
    index: 0,
  });
  const whole = s.type === 'text' ? [{ text: s.text }] : [{ functionCall: { name: s.name, args: s.args } }];
  if (!stream)
    return sendJson(res, 200, {
      candidates: [cand(whole, 'STOP')],
      usageMetadata,
      modelVersion: 'gemini-fake-001',
      responseId: 'resp-1',
    });
  const events: unknown[] = [];
  if (s.type === 'text') {
    const words = s.text.split(' ');
    words.forEach((w, i) =>
      events.push({
        candidates: [cand([{ text: (i ? ' ' : '') + w }], i === words.length - 1 ? 'STOP' : undefined)],
        usageMetadata: { promptTokenCount: s.usage.input },
        modelVersion: 'gemini-fake-001',
      }),
    );
    (events.at(-1) as { usageMetadata: unknown }).usageMetadata = usageMetadata;
  } else {
    events.push({ candidates: [cand(whole, 'STOP')], usageMetadata, modelVersion: 'gemini-fake-001' });
  }
  return sendSse(
    res,
    events.map((e) => [undefined, e]),
  );
}
