/**
 * A fake Bedrock runtime on 127.0.0.1: Converse (JSON), ConverseStream (binary AWS event-stream frames
 * built with @smithy/eventstream-codec, written in awkwardly sized pieces) and InvokeModel for Titan /
 * Cohere embeddings. Every request's SigV4 signature is recomputed from the secret the fake knows for
 * the access key: a wrong key, body or path answers 403 InvalidSignatureException like AWS does.
 * It plugs into the provider contract suite (`Script`) and adds Bedrock-only faults.
 */
import type http from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { ContractFake, RecordedCall, Script, ScriptUsage } from '../contract/harness.js';
import { sendJson, startScriptedFake } from './fake-server.js';

/** Bedrock-only scripts on top of the contract ones. */
export type BedrockScript =
  | Script
  /** stream one text delta, then an exception event of that type */
  | { type: 'stream-exception'; exceptionType: string; message: string }
  /** stream one text delta, then end the response without messageStop */
  | { type: 'stream-cut' }
  /** a raw HTTP error with that x-amzn-errortype */
  | { type: 'raw-error'; status: number; errorType: string; message: string };

/** Known credentials: access key id -> secret (and the session token the key needs, if any). */
export type FakeAwsKeys = Record<string, { secret: string; sessionToken?: string }>;

export interface BedrockFake extends ContractFake {
  script(s: BedrockScript): void;
  /** the SigV4 credential scope of each request: region and service */
  scopes: { accessKeyId: string; region: string; service: string }[];
}

const AUTH = new RegExp(
  '^AWS4-HMAC-SHA256 Credential=([^/]+)\\/(\\d{8})\\/([^/]+)\\/([^/]+)\\/aws4_request, ' +
    'SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$',
);
const codec = new EventStreamCodec(toUtf8, fromUtf8);
/** piece sizes for stream writes: frames are cut across the prelude, the headers and the payload */
const SPLITS = [1, 3, 7, 2, 13, 5, 29, 11, 64];

/** Start the fake. */
export async function startBedrockUpstream(keys: FakeAwsKeys): Promise<BedrockFake> {
  let current: BedrockScript = { type: 'text', text: 'ok', usage: { input: 1, output: 1 } };
  const scopes: BedrockFake['scopes'] = [];
  const fake = await startScriptedFake(async (call, _s, res) => {
    const problem = await checkSignature(call, keys, scopes);
    if (problem)
      return sendJson(
        res,
        403,
        { message: problem },
        {
          'x-amzn-errortype': problem.startsWith('The security token')
            ? 'UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/'
            : 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/',
        },
      );
    // the Agents runtime's Rerank API (this fake stands in for both hosts)
    if (call.path === '/rerank') return rerank(res, call.body);
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/.exec(
      call.path,
    );
    if (!m)
      return sendJson(
        res,
        404,
        { message: `no route ${call.path}` },
        { 'x-amzn-errortype': 'UnknownOperationException' },
      );
    const modelId = decodeURIComponent(m[1]);
    if (m[2] === 'count-tokens') {
      // as AWS answers for models CountTokens does not cover (older Claude, inference-profile ids)
      if (modelId.includes('claude-instant') || /^[a-z-]+\.anthropic\./.test(modelId))
        return invalidBody(res, "The provided model doesn't support counting tokens.");
      return countTokens(res, call.body);
    }
    if (/(^|\.)anthropic\.claude/.test(modelId) && m[2].startsWith('invoke'))
      return invokeClaude(res, current, m[2] !== 'invoke', call.body);
    if (m[2] === 'invoke' && /^(stability\.|amazon\.titan-image|amazon\.nova-canvas)/.test(modelId))
      return image(res, modelId, call.body);
    if (m[2] === 'invoke') return embed(res, modelId, call.body);
    await answer(res, current, m[2] === 'converse-stream');
  });
  const setBase = fake.script;
  return Object.assign(fake, {
    scopes,
    script(s: BedrockScript) {
      current = s;
      setBase(s.type === 'hang' ? s : { type: 'text', text: '', usage: { input: 0, output: 0 } });
    },
  });
}

async function checkSignature(
  call: RecordedCall,
  keys: FakeAwsKeys,
  scopes: BedrockFake['scopes'],
): Promise<string | undefined> {
  const auth = String(call.headers.authorization ?? '');
  const date = String(call.headers['x-amz-date'] ?? '');
  const m = AUTH.exec(auth);
  if (!m || !/^\d{8}T\d{6}Z$/.test(date))
    return `Missing or malformed SigV4 Authorization / x-amz-date (got ${JSON.stringify(auth.slice(0, 40))})`;
  const [, accessKeyId, day, region, service, signedHeaders, signature] = m;
  scopes.push({ accessKeyId, region, service });
  const key = keys[accessKeyId];
  const token = call.headers['x-amz-security-token'] as string | undefined;
  if (!key || key.sessionToken !== token) return 'The security token included in the request is invalid.';
  if (day !== date.slice(0, 8)) return 'Credential scope date does not match x-amz-date';
  const headers: Record<string, string> = {};
  for (const h of signedHeaders.split(';'))
    if (h !== 'x-amz-date' && h !== 'x-amz-security-token') headers[h] = String(call.headers[h] ?? '');
  const [host, port] = String(call.headers.host).split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: key.secret, sessionToken: token },
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const ymd = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
  const when = new Date(`${ymd}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
  const again = await signer.sign(
    {
      method: call.method,
      protocol: 'http:',
      hostname: host,
      port: port ? Number(port) : undefined,
      path: call.path,
      query: {},
      headers,
      body: call.raw,
    },
    { signingDate: when },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(again.headers.authorization))?.[1];
  return expected === signature
    ? undefined
    : 'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method.';
}

function frame(eventType: string, payload: unknown): Uint8Array {
  // real ConverseStream payloads carry a "p" padding field; decoders must ignore it
  const body = fromUtf8(JSON.stringify({ ...(payload as object), p: 'abcdefghij' }));
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body,
  });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

async function writeSplit(res: http.ServerResponse, frames: Uint8Array[], end = true): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake-req' });
  const all = Buffer.concat(frames);
  let off = 0;
  for (let i = 0; off < all.length; i++) {
    const n = SPLITS[i % SPLITS.length];
    if (res.destroyed) return;
    res.write(all.subarray(off, off + n));
    off += n;
    await new Promise((r) => setImmediate(r));
  }
  if (end) res.end();
  else res.socket?.destroy();
}

const ERRORS: Record<string, [number, string, (m: string) => string]> = {
  auth: [403, 'UnrecognizedClientException', (m) => `The security token included in the request is invalid. ${m}`],
  permission: [
    403,
    'AccessDeniedException',
    (m) => `You don't have access to the model with the specified model ID. ${m}`,
  ],
  not_found: [404, 'ResourceNotFoundException', (m) => `Could not resolve the foundation model. ${m}`],
  rate_limit: [429, 'ThrottlingException', (m) => `Too many requests, please wait before trying again. ${m}`],
  context_window: [400, 'ValidationException', (m) => `Input is too long for requested model. ${m}`],
  overloaded: [503, 'ServiceUnavailableException', (m) => `Bedrock is unable to process your request. ${m}`],
};

/** Converse's `usage`: `inputTokens` leaves out the cache reads and writes, which come in fields of their own. */
function converseUsage(u: ScriptUsage) {
  const cached = (u.cacheRead ?? 0) + (u.cacheWrite ?? 0);
  return {
    inputTokens: u.input,
    outputTokens: u.output,
    totalTokens: u.input + u.output + cached,
    ...(u.cacheRead === undefined ? {} : { cacheReadInputTokens: u.cacheRead }),
    ...(u.cacheWrite === undefined ? {} : { cacheWriteInputTokens: u.cacheWrite }),
  };
}

async function answer(res: http.ServerResponse, s: BedrockScript, stream: boolean): Promise<void> {
  if (s.type === 'error') {
    const [status, type, text] = ERRORS[s.error] ?? [400, 'ValidationException', (m: string) => m];
    return sendJson(
      res,
      status,
      { message: text(s.message) },
      {
        'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
        ...(s.retryAfter ? { 'retry-after': s.retryAfter } : {}),
      },
    );
  }
  if (s.type === 'raw-error')
    return sendJson(res, s.status, { message: s.message }, { 'x-amzn-errortype': s.errorType });
  if (s.type === 'hang') return;
  const usage =
    s.type === 'text' || s.type === 'tool_call'
      ? converseUsage(s.usage)
      : { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
  if (!stream) {
    if (s.type === 'text')
      return sendJson(res, 200, {
        output: { message: { role: 'assistant', content: [{ text: s.text }] } },
        stopReason: 'end_turn',
        usage,
        metrics: { latencyMs: 12 },
      });
    if (s.type === 'tool_call')
      return sendJson(res, 200, {
        output: {
          message: {
            role: 'assistant',
            content: [{ text: 'Let me check.' }, { toolUse: { toolUseId: s.id, name: s.name, input: s.args } }],
          },
        },
        stopReason: 'tool_use',
        usage,
        metrics: { latencyMs: 12 },
      });
    return sendJson(
      res,
      500,
      { message: 'script not for non-stream' },
      { 'x-amzn-errortype': 'InternalServerException' },
    );
  }
  const frames: Uint8Array[] = [frame('messageStart', { role: 'assistant' })];
  if (s.type === 'tool_call') {
    const args = JSON.stringify(s.args);
    const mid = Math.floor(args.length / 2);
    frames.push(
      frame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: s.id, name: s.name } } }),
    );
    frames.push(
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: args.slice(0, mid) } } }),
    );
    frames.push(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: args.slice(mid) } } }));
    frames.push(frame('contentBlockStop', { contentBlockIndex: 0 }));
    frames.push(frame('messageStop', { stopReason: 'tool_use' }));
  } else {
    const text = s.type === 'text' ? s.text : 'partial';
    text
      .split(' ')
      .forEach((w, i) =>
        frames.push(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: (i ? ' ' : '') + w } })),
      );
    if (s.type === 'stream-exception') return writeSplit(res, [...frames, exceptionFrame(s.exceptionType, s.message)]);
    if (s.type === 'stream-cut') return writeSplit(res, frames, false);
    frames.push(frame('contentBlockStop', { contentBlockIndex: 0 }));
    frames.push(frame('messageStop', { stopReason: 'end_turn' }));
  }
  frames.push(frame('metadata', { usage, metrics: { latencyMs: 15 } }));
  return writeSplit(res, frames);
}

function embed(
  res: http.ServerResponse,
  modelId: string,
  body: { inputText?: string; texts?: string[]; input_type?: string; dimensions?: number },
): void {
  const vec = (t: string, n = 4) => Array.from({ length: n }, (_, i) => (t.length + i) / 100);
  if (modelId.startsWith('amazon.titan-embed')) {
    if (typeof body?.inputText !== 'string')
      return sendJson(res, 400, { message: 'inputText required' }, { 'x-amzn-errortype': 'ValidationException' });
    return sendJson(res, 200, {
      embedding: vec(body.inputText, body.dimensions ?? 4),
      inputTextTokenCount: body.inputText.split(' ').length,
    });
  }
  if (modelId.startsWith('cohere.embed')) {
    if (!Array.isArray(body?.texts) || !body.input_type)
      return sendJson(
        res,
        400,
        { message: 'texts and input_type required' },
        { 'x-amzn-errortype': 'ValidationException' },
      );
    return sendJson(res, 200, {
      id: 'emb-1',
      response_type: 'embeddings_floats',
      texts: body.texts,
      embeddings: body.texts.map((t) => vec(t)),
    });
  }
  return sendJson(
    res,
    404,
    { message: `unknown model ${modelId}` },
    { 'x-amzn-errortype': 'ResourceNotFoundException' },
  );
}

const invalidBody = (res: http.ServerResponse, message: string) =>
  sendJson(res, 400, { message }, { 'x-amzn-errortype': 'ValidationException' });

/** Claude's InvokeModel body: the Messages API without `model` / `stream`, with Bedrock's anthropic_version. */
function claudeBodyProblem(body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return 'a JSON body is required';
  if (body.anthropic_version !== 'bedrock-2023-05-31') return 'anthropic_version: required';
  for (const k of ['model', 'stream']) if (k in body) return `extraneous key [${k}] is not permitted`;
  if (typeof body.max_tokens !== 'number' || !Array.isArray(body.messages)) return 'max_tokens, messages: required';
  return undefined;
}

/** CountTokens: `{"input":{"invokeModel":{"body":<base64 InvokeModel body>}}}` -> `{"inputTokens": n}`. */
function countTokens(res: http.ServerResponse, body: { input?: { invokeModel?: { body?: string } } }): void {
  const b64 = body?.input?.invokeModel?.body;
  if (typeof b64 !== 'string') return invalidBody(res, 'input.invokeModel.body: required');
  const inner = JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Record<string, unknown>;
  if (inner.anthropic_version !== 'bedrock-2023-05-31' || 'model' in inner)
    return invalidBody(res, 'the InvokeModel body is not a Claude Messages body');
  sendJson(res, 200, { inputTokens: Math.ceil(JSON.stringify([inner.system, inner.messages]).length / 4) });
}

/**
 * Claude through InvokeModel (a Messages answer) and InvokeModelWithResponseStream (each Messages event in a
 * `chunk` frame, base64 JSON under `bytes`; the last one carries Bedrock's invocation metrics).
 */
async function invokeClaude(
  res: http.ServerResponse,
  s: BedrockScript,
  stream: boolean,
  body: Record<string, unknown> | undefined,
): Promise<void> {
  const problem = claudeBodyProblem(body);
  if (problem) return invalidBody(res, problem);
  const text = s.type === 'text' ? s.text : 'ok';
  const u = s.type === 'text' ? s.usage : undefined;
  // Anthropic's usage shape: input_tokens leaves out the cache reads and writes
  const usage = u && {
    input_tokens: u.input,
    output_tokens: u.output,
    ...(u.cacheRead === undefined ? {} : { cache_read_input_tokens: u.cacheRead }),
    ...(u.cacheWrite === undefined ? {} : { cache_creation_input_tokens: u.cacheWrite }),
  };
  const model = 'claude-3-haiku-20240307';
  if (!stream) {
    return sendJson(res, 200, {
      id: 'msg_bdrk_01',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage,
    });
  }
  const events: unknown[] = [
    {
      type: 'message_start',
      message: {
        id: 'msg_bdrk_02',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        usage: { ...usage, output_tokens: 1 },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...text.split(' ').map((w, i) => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: (i ? ' ' : '') + w },
    })),
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: usage?.output_tokens },
    },
    {
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: usage?.input_tokens,
        outputTokenCount: usage?.output_tokens,
      },
    },
  ];
  const chunk = (e: unknown) =>
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: 'chunk' },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: fromUtf8(JSON.stringify({ bytes: Buffer.from(JSON.stringify(e)).toString('base64'), p: 'abcd' })),
    });
  return writeSplit(res, events.map(chunk));
}

/**
 * Rerank (bedrock-agent-runtime `POST /rerank`): one TEXT query, INLINE TEXT sources, a
 * BEDROCK_RERANKING_MODEL configuration with the model's ARN; scores by shared words, best first.
 */
function rerank(res: http.ServerResponse, body: Record<string, any> | undefined): void {
  const query = body?.queries?.[0]?.textQuery?.text;
  const sources = body?.sources;
  const conf = body?.rerankingConfiguration;
  const arn = conf?.bedrockRerankingConfiguration?.modelConfiguration?.modelArn;
  if (typeof query !== 'string' || body?.queries?.[0]?.type !== 'TEXT')
    return invalidBody(res, 'queries: one TEXT query');
  if (!Array.isArray(sources) || sources.some((s) => s?.type !== 'INLINE' || !s.inlineDocumentSource?.textDocument))
    return invalidBody(res, 'sources: INLINE TEXT documents');
  if (conf?.type !== 'BEDROCK_RERANKING_MODEL' || typeof arn !== 'string' || !arn.startsWith('arn:aws:bedrock:'))
    return invalidBody(res, 'rerankingConfiguration: BEDROCK_RERANKING_MODEL with a model ARN');
  const words = new Set(query.toLowerCase().split(/\W+/));
  const scored = sources.map((s: any, index: number) => {
    const text = String(s.inlineDocumentSource.textDocument.text).toLowerCase();
    const hits = text.split(/\W+/).filter((w) => words.has(w)).length;
    return { index, relevanceScore: hits / (hits + 1) };
  });
  scored.sort((a: any, b: any) => b.relevanceScore - a.relevanceScore);
  const n = conf.bedrockRerankingConfiguration.numberOfResults ?? scored.length;
  sendJson(res, 200, { results: scored.slice(0, n) });
}

/** A 1x1 PNG, base64: what every fake image is. */
export const FAKE_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** InvokeModel for image models: Stability SD3 / Stable Image, SDXL (`artifacts`), Titan Image / Nova Canvas. */
function image(res: http.ServerResponse, modelId: string, body: Record<string, any> | undefined): void {
  if (modelId.startsWith('stability.stable-diffusion-xl')) {
    if (!Array.isArray(body?.text_prompts)) return invalidBody(res, 'text_prompts required');
    const n = body.samples ?? 1;
    return sendJson(res, 200, {
      result: 'success',
      artifacts: Array.from({ length: n }, (_, i) => ({ seed: i, base64: FAKE_PNG_B64, finishReason: 'SUCCESS' })),
    });
  }
  if (modelId.startsWith('stability.')) {
    if (typeof body?.prompt !== 'string') return invalidBody(res, 'prompt required');
    return sendJson(res, 200, { seeds: [42], finish_reasons: [null], images: [FAKE_PNG_B64] });
  }
  if (body?.taskType !== 'TEXT_IMAGE' || typeof body.textToImageParams?.text !== 'string')
    return invalidBody(res, 'taskType TEXT_IMAGE with textToImageParams.text required');
  const n = body.imageGenerationConfig?.numberOfImages ?? 1;
  sendJson(res, 200, { images: Array.from({ length: n }, () => FAKE_PNG_B64), error: null });
}
