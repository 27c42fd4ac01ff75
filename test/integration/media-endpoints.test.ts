/**
 * The media endpoints end to end: the official openai SDK (images, audio transcriptions with a file, streamed
 * speech, moderations) and plain fetch for rerank, against fakes speaking OpenAI's, Azure's, Groq's, Jina's,
 * Cohere's and Bedrock's documented formats; retries and fallbacks; costs from per-unit prices; the settled
 * event of each; and each deployment's mode in /v1/model/info.
 */
import { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ContractFake } from '../contract/harness.js';
import { type BedrockFake, FAKE_PNG_B64, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { COHERE_FAKE_KEY, startCohereUpstream } from '../fakes/cohere-upstream.js';
import { FAKE_AUDIO_HEAD, type MediaFake, startMediaUpstream } from '../fakes/media-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';

const KEY = { id: 'AKIAMEDIAKEY0000001', secret: 'media-secret-0123456789abcdef' };
const UP_KEY = 'sk-media-upstream-0123456789';

let media: MediaFake;
let cohere: ContractFake;
let bedrock: BedrockFake;
let engine: TestEngine;
let settled: ReturnType<typeof recordSettled>;

beforeAll(async () => {
  media = await startMediaUpstream();
  cohere = await startCohereUpstream();
  bedrock = await startBedrockUpstream({ [KEY.id]: { secret: KEY.secret } });
  const openai = { api_base: `${media.url}/v1`, api_key: UP_KEY };
  const azure = { api_base: media.url, api_key: 'azure-key-0123456789', api_version: '2025-04-01-preview' };
  const aws = { aws_bedrock_runtime_endpoint: bedrock.url };
  engine = await startTestEngine(
    {
      model_list: [
        { model_name: 'moderator', litellm_params: { model: 'openai/omni-moderation-latest', ...openai } },
        {
          model_name: 'dalle',
          litellm_params: { model: 'openai/dall-e-3', ...openai },
          model_info: { output_cost_per_image: 0.04 },
        },
        { model_name: 'azure-image', litellm_params: { model: 'azure/dalle-deploy', ...azure } },
        { model_name: 'whisper', litellm_params: { model: 'openai/whisper-1', ...openai } },
        {
          model_name: 'groq-whisper',
          litellm_params: { model: 'groq/whisper-large-v3', api_base: `${media.url}/openai/v1`, api_key: 'gsk_1' },
        },
        { model_name: 'azure-whisper', litellm_params: { model: 'azure/whisper-deploy', ...azure } },
        {
          model_name: 'tts',
          litellm_params: { model: 'openai/tts-1', ...openai },
          model_info: { input_cost_per_character: 0.000015 },
        },
        { model_name: 'azure-tts', litellm_params: { model: 'azure/tts-deploy', ...azure } },
        {
          model_name: 'jina-rerank',
          litellm_params: { model: 'jina_ai/jina-reranker-v2-base-multilingual', api_base: `${media.url}/v1` },
        },
        {
          model_name: 'cohere-rerank',
          litellm_params: { model: 'cohere/rerank-v3.5', api_base: cohere.url, api_key: COHERE_FAKE_KEY },
          model_info: { input_cost_per_query: 0.002 },
        },
        { model_name: 'bedrock-rerank', litellm_params: { model: 'bedrock/amazon.rerank-v1:0', ...aws } },
        { model_name: 'nova-canvas', litellm_params: { model: 'bedrock/amazon.nova-canvas-v1:0', ...aws } },
        { model_name: 'sd3', litellm_params: { model: 'bedrock/stability.sd3-large-v1:0', ...aws } },
        { model_name: 'titan-image', litellm_params: { model: 'bedrock/amazon.titan-image-generator-v2:0', ...aws } },
        { model_name: 'chat', litellm_params: { model: 'openai/gpt-4o', ...openai } },
        { model_name: 'offline', litellm_params: { model: 'openai/anything', mock_response: 'mocked words' } },
      ],
      router_settings: { fallbacks: [{ 'cohere-rerank': ['jina-rerank'] }] },
      environment_variables: { AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_REGION: 'us-west-2' },
    },
    { env: { AWS_EC2_METADATA_DISABLED: 'true' } },
  );
  settled = recordSettled(engine);
});
afterAll(async () => {
  await engine?.close();
  await Promise.all([media?.close(), cohere?.close(), bedrock?.close()]);
});
beforeEach(() => {
  media.fail(0, 500);
  media.calls.length = 0;
  cohere.script({ type: 'text', text: 'ok', usage: { input: 1, output: 1 } });
});

const DOCS = ['Paris is the capital of France.', 'Bananas are yellow.', 'The capital of Italy is Rome.'];

describe('POST /v1/moderations', () => {
  it('classifies through the openai SDK and settles a moderation event', async () => {
    const { data: r, response } = await engine.openai.moderations
      .create({ model: 'moderator', input: ['I will hurt you', 'hello'] })
      .withResponse();
    expect(r.results.map((x) => x.flagged)).toEqual([true, false]);
    expect(r.results[0].category_scores.violence).toBeGreaterThan(0.9);
    expect(media.calls[0].path).toBe('/v1/moderations');
    expect(media.calls[0].headers.authorization).toBe(`Bearer ${UP_KEY}`);
    expect(media.calls[0].body.model).toBe('omni-moderation-latest');
    const e = await settled.eventOf(response.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'moderation', status: 'success', modelGroup: 'moderator' });
  });

  it('retries a 500 in place (num_retries) and says so in the headers', async () => {
    media.fail(1, 500);
    const r = await post(`${engine.url}/v1/moderations`, { model: 'moderator', input: 'hi', num_retries: 1 });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-attempted-retries')).toBe('1');
    expect(media.calls).toHaveLength(2);
  });

  it('refuses a request without input with a clear 400', async () => {
    const r = await post(`${engine.url}/v1/moderations`, { model: 'moderator' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ param: 'input', code: 'missing_required_parameter' });
    expect(media.calls).toHaveLength(0);
  });
});

describe('POST /v1/images/generations', () => {
  it('OpenAI: b64_json and url through the SDK; per-image price in the cost header', async () => {
    const { data: b64, response } = await engine.openai.images
      .generate({ model: 'dalle', prompt: 'a red fox', n: 2, response_format: 'b64_json', size: '1024x1024' })
      .withResponse();
    expect(b64.data).toHaveLength(2);
    expect(Buffer.from(b64.data![0].b64_json!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.08, 10);
    const e = await settled.eventOf(response.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'image_generation', status: 'success' });
    expect(e.usage.images).toBe(2);
    expect(e.responseCost).toBeCloseTo(0.08, 10);
    const url = await engine.openai.images.generate({ model: 'dalle', prompt: 'a fox', response_format: 'url' });
    expect(url.data![0].url).toBe('https://images.example.test/img-0.png');
    expect(media.calls[1].body).toMatchObject({ model: 'dall-e-3', prompt: 'a fox', response_format: 'url' });
  });

  it('Azure: the deployment path with api-version and the api-key header', async () => {
    const r = await engine.openai.images.generate({ model: 'azure-image', prompt: 'a fox' });
    expect(r.data![0].b64_json).toBe(FAKE_PNG_B64);
    expect(media.calls[0].path).toBe(
      '/openai/deployments/dalle-deploy/images/generations?api-version=2025-04-01-preview',
    );
    expect(media.calls[0].headers['api-key']).toBe('azure-key-0123456789');
  });

  it('Bedrock Nova Canvas, Titan Image and SD3: each family body, base64 back (a data: URL for url)', async () => {
    const nova = await engine.openai.images.generate({ model: 'nova-canvas', prompt: 'a fox', n: 2, size: '512x512' });
    expect(nova.data!.map((d) => d.b64_json)).toEqual([FAKE_PNG_B64, FAKE_PNG_B64]);
    const novaCall = bedrock.calls.at(-1)!;
    expect(novaCall.path).toBe(`/model/${encodeURIComponent('amazon.nova-canvas-v1:0')}/invoke`);
    expect(novaCall.body).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a fox' },
      imageGenerationConfig: { numberOfImages: 2, width: 512, height: 512 },
    });
    const titan = await engine.openai.images.generate({ model: 'titan-image', prompt: 'a cat', quality: 'hd' });
    expect(titan.data).toHaveLength(1);
    expect(bedrock.calls.at(-1)!.body.imageGenerationConfig.quality).toBe('premium');
    const sd3 = await engine.openai.images.generate({
      model: 'sd3',
      prompt: 'a cat',
      size: '1792x1024',
      response_format: 'url',
    });
    expect(sd3.data![0].url).toBe(`data:image/png;base64,${FAKE_PNG_B64}`);
    expect(bedrock.calls.at(-1)!.body).toEqual({ prompt: 'a cat', mode: 'text-to-image', aspect_ratio: '16:9' });
    expect(bedrock.scopes.at(-1)).toMatchObject({ region: 'us-west-2', service: 'bedrock' });
  });

  it("Azure-style path (the AzureOpenAI client's): the model comes from the path", async () => {
    const r = await post(`${engine.url}/openai/deployments/dalle/images/generations?api-version=2024-10-21`, {
      prompt: 'a fox',
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-model-group')).toBe('dalle');
    expect(media.calls.at(-1)!.body.model).toBe('dall-e-3');
  });

  it('refuses an unknown response_format before calling anyone', async () => {
    const r = await post(`${engine.url}/v1/images/generations`, {
      model: 'dalle',
      prompt: 'x',
      response_format: 'gif',
    });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe('response_format');
  });
});

describe('POST /v1/audio/transcriptions', () => {
  const audio = () => toFile(Buffer.from('RIFF-fake-wave-audio'), 'note.wav', { type: 'audio/wav' });

  it('OpenAI: multipart in and out, the file passed as it came; json and verbose_json', async () => {
    const { data: r, response } = await engine.openai.audio.transcriptions
      .create({ model: 'whisper', file: await audio(), language: 'en', response_format: 'verbose_json' })
      .withResponse();
    expect(r.text).toBe('heard 20 bytes from note.wav');
    expect((r as unknown as { duration: number }).duration).toBe(2.5);
    const form = media.forms.at(-1)!;
    expect(form.fields.model).toEqual(['whisper-1']);
    expect(form.fields.language).toEqual(['en']);
    expect(form.file).toMatchObject({ name: 'note.wav', type: 'audio/wav' });
    expect(form.file!.bytes.toString()).toBe('RIFF-fake-wave-audio');
    // whisper-1 is priced per second (in + out): the audio's 2.5 s, as the answer says
    const e = await settled.eventOf(response.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'audio_transcription', status: 'success' });
    expect(e.usage.seconds).toBe(2.5);
    expect(e.responseCost).toBeCloseTo(0.0005, 10);
    const plain = await engine.openai.audio.transcriptions.create({ model: 'whisper', file: await audio() });
    expect(plain.text).toBe('heard 20 bytes from note.wav');
  });

  it('text format comes back as text/plain; Groq and Azure paths', async () => {
    const text = await engine.openai.audio.transcriptions.create({
      model: 'groq-whisper',
      file: await audio(),
      response_format: 'text',
    });
    expect(String(text).trim()).toBe('heard 20 bytes from note.wav');
    expect(media.calls.at(-1)!.path).toBe('/openai/v1/audio/transcriptions');
    expect(media.calls.at(-1)!.headers.authorization).toBe('Bearer gsk_1');
    await engine.openai.audio.transcriptions.create({ model: 'azure-whisper', file: await audio() });
    expect(media.calls.at(-1)!.path).toBe(
      '/openai/deployments/whisper-deploy/audio/transcriptions?api-version=2025-04-01-preview',
    );
    const res = await fetch(`${engine.url}/v1/audio/transcriptions`, {
      method: 'POST',
      body: form({ model: 'whisper', response_format: 'srt' }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/^1\n00:00:00,000 --> /);
  });

  it('400s: a JSON body, and a form without a file', async () => {
    const json = await post(`${engine.url}/v1/audio/transcriptions`, { model: 'whisper' });
    expect(json.status).toBe(400);
    expect(json.json.error.message).toMatch(/multipart\/form-data/);
    const fd = new FormData();
    fd.append('model', 'whisper');
    const res = await fetch(`${engine.url}/v1/audio/transcriptions`, { method: 'POST', body: fd });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('file');
    const streamed = await fetch(`${engine.url}/v1/audio/transcriptions`, {
      method: 'POST',
      body: form({ model: 'whisper', stream: 'true' }),
    });
    expect(streamed.status).toBe(400);
    expect((await streamed.json()).error.param).toBe('stream');
  });

  it('a body over max_request_size_mb is a 413', async () => {
    const small = await startTestEngine({
      model_list: [{ model_name: 'whisper', litellm_params: { model: 'openai/whisper-1', api_base: media.url } }],
      general_settings: { max_request_size_mb: 0.001 },
    });
    try {
      const fd = form({ model: 'whisper' }, Buffer.alloc(4096, 1));
      const res = await fetch(`${small.url}/v1/audio/transcriptions`, { method: 'POST', body: fd });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

function form(fields: Record<string, string>, bytes: Buffer = Buffer.from('RIFF-fake-wave-audio')): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([bytes], { type: 'audio/wav' }), 'note.wav');
  return fd;
}

describe('POST /v1/audio/speech', () => {
  it('streams the audio back through the SDK with its content-type; priced per character', async () => {
    const res = await engine.openai.audio.speech.create({ model: 'tts', voice: 'alloy', input: 'Hello there' });
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 4)).toEqual(FAKE_AUDIO_HEAD);
    expect(bytes.subarray(4, 15).toString()).toBe('Hello there');
    expect(media.calls.at(-1)!.body).toEqual({ model: 'tts-1', voice: 'alloy', input: 'Hello there' });
    const e = await settled.eventOf(res.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'audio_speech', status: 'success', stream: true });
    expect(e.usage.characters).toBe(11);
    expect(e.responseCost).toBeCloseTo(11 * 0.000015, 12);
  });

  it('reads the stream chunk by chunk (Azure, wav)', async () => {
    const res = await engine.openai.audio.speech.create({
      model: 'azure-tts',
      voice: 'nova',
      input: 'Hi',
      response_format: 'wav',
    });
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const parts: Buffer[] = [];
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
    expect(Buffer.concat(parts).subarray(4, 6).toString()).toBe('Hi');
    expect(media.calls.at(-1)!.path).toBe('/openai/deployments/tts-deploy/audio/speech?api-version=2025-04-01-preview');
  });

  it('an upstream error before any audio falls to a clean OpenAI error', async () => {
    media.fail(1, 400);
    const r = await post(`${engine.url}/v1/audio/speech`, { model: 'tts', voice: 'alloy', input: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/fake failure 400/);
  });
});

describe('POST /v1/rerank', () => {
  const ask = (route: string, body: Record<string, unknown>) => post(`${engine.url}${route}`, body);

  it('Cohere v2: LiteLLM shape, documents added back, search units priced per query', async () => {
    const r = await ask('/v1/rerank', {
      model: 'cohere-rerank',
      query: 'capital of France',
      documents: DOCS,
      top_n: 2,
    });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(2);
    expect(r.json.results[0]).toMatchObject({ index: 0, document: { text: DOCS[0] } });
    expect(r.json.results[0].relevance_score).toBeGreaterThan(r.json.results[1].relevance_score);
    expect(r.json.meta.billed_units.search_units).toBe(1);
    expect(r.json.id).toBe('rr-cohere-1');
    expect(cohere.calls.at(-1)!.path).toBe('/v2/rerank');
    expect(cohere.calls.at(-1)!.body).toEqual({
      model: 'rerank-v3.5',
      query: 'capital of France',
      documents: DOCS,
      top_n: 2,
    });
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.002, 10);
    const e = await settled.eventOf(r.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'rerank', status: 'success', provider: 'cohere' });
  });

  it('/rerank and /v2/rerank too; Jina-compatible (jina_ai/), return_documents: false', async () => {
    const r = await ask('/v2/rerank', {
      model: 'jina-rerank',
      query: 'Rome Italy',
      documents: [{ text: DOCS[1] }, { text: DOCS[2] }],
      return_documents: false,
    });
    expect(r.status).toBe(200);
    expect(r.json.results[0]).toEqual({ index: 1, relevance_score: expect.any(Number) });
    expect(r.json.meta.billed_units.total_tokens).toBe(42);
    expect(media.calls.at(-1)!.path).toBe('/v1/rerank');
    const plain = await ask('/rerank', { model: 'jina-rerank', query: 'bananas', documents: DOCS });
    expect(plain.json.results[0].index).toBe(1);
  });

  it('Bedrock: the Agents runtime Rerank API, SigV4-signed, the model by its ARN', async () => {
    const r = await ask('/v1/rerank', { model: 'bedrock-rerank', query: 'bananas yellow', documents: DOCS, top_n: 1 });
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([{ index: 1, relevance_score: expect.any(Number), document: { text: DOCS[1] } }]);
    const call = bedrock.calls.at(-1)!;
    expect(call.path).toBe('/rerank');
    expect(call.body.rerankingConfiguration.bedrockRerankingConfiguration).toEqual({
      modelConfiguration: { modelArn: 'arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0' },
      numberOfResults: 1,
    });
    expect(bedrock.scopes.at(-1)).toMatchObject({ accessKeyId: KEY.id, service: 'bedrock' });
  });

  it('GET /health checks a Bedrock rerank model with one rerank query', async () => {
    const before = bedrock.calls.length;
    const res = await fetch(`${engine.url}/health`);
    const h = (await res.json()) as { healthy_endpoints: { model: string }[] };
    expect(h.healthy_endpoints.map((e) => e.model)).toContain('bedrock/amazon.rerank-v1:0');
    const calls = bedrock.calls.slice(before).filter((c) => c.path === '/rerank');
    expect(calls).toHaveLength(1);
    expect(calls[0].body.queries[0].textQuery.text).toBe('ping');
  });

  it('falls back to the next group when the first answers 503', async () => {
    cohere.script({ type: 'error', error: 'overloaded', message: 'busy' });
    const r = await ask('/v1/rerank', { model: 'cohere-rerank', query: 'bananas', documents: DOCS });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-model-group')).toBe('jina-rerank');
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    expect(r.json.results[0].index).toBe(1);
    const e = await settled.eventOf(r.headers.get('x-litellm-call-id'));
    expect(e).toMatchObject({ endpoint: 'rerank', status: 'success', modelGroup: 'jina-rerank', attempts: 2 });
  });

  it('a provider without rerank is a 400 naming it; bad input is a 400 before routing', async () => {
    const chat = await ask('/v1/rerank', { model: 'chat', query: 'q', documents: DOCS });
    expect(chat.status).toBe(400);
    expect(chat.json.error.message).toMatch(/OpenAI .* does not serve rerank requests/);
    const empty = await ask('/v1/rerank', { model: 'jina-rerank', query: 'q', documents: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.error.param).toBe('documents');
  });
});

describe('mock_response (offline configs)', () => {
  it('answers each media endpoint in its own shape, without an upstream', async () => {
    const rr = await post(`${engine.url}/v1/rerank`, { model: 'offline', query: 'q', documents: DOCS, top_n: 2 });
    expect(rr.json.results.map((r: { index: number }) => r.index)).toEqual([0, 1]);
    const mod = await engine.openai.moderations.create({ model: 'offline', input: ['a', 'b'] });
    expect(mod.results.map((r) => r.flagged)).toEqual([false, false]);
    const img = await engine.openai.images.generate({ model: 'offline', prompt: 'x', n: 2 });
    expect(img.data).toHaveLength(2);
    const tr = await engine.openai.audio.transcriptions.create({
      model: 'offline',
      file: await toFile(Buffer.from('abc'), 'a.wav'),
    });
    expect(tr.text).toBe('mocked words');
    const sp = await engine.openai.audio.speech.create({ model: 'offline', voice: 'alloy', input: 'hi' });
    expect(Buffer.from(await sp.arrayBuffer()).toString()).toBe('mocked words');
    expect(media.calls).toHaveLength(0);
  });
});

describe('/v1/model/info', () => {
  it('lists each deployment with its mode', async () => {
    const res = await fetch(`${engine.url}/v1/model/info`);
    const { data } = (await res.json()) as { data: { model_name: string; model_info: { mode?: string } }[] };
    const mode = (name: string) => data.find((d) => d.model_name === name)?.model_info.mode;
    expect(mode('moderator')).toBe('moderation');
    expect(mode('dalle')).toBe('image_generation');
    expect(mode('nova-canvas')).toBe('image_generation');
    expect(mode('whisper')).toBe('audio_transcription');
    expect(mode('groq-whisper')).toBe('audio_transcription');
    expect(mode('tts')).toBe('audio_speech');
    expect(mode('cohere-rerank')).toBe('rerank');
    expect(mode('bedrock-rerank')).toBe('rerank');
    expect(mode('jina-rerank')).toBe('rerank');
    expect(mode('chat')).toBe('chat');
  });

  it('an unpriced media model is warned about with the per-unit key that prices it', () => {
    // azure/tts-deploy: a deployment name the price map cannot know
    const warning = engine.logs.find((l) => l.includes('no price known for "azure/tts-deploy"'));
    expect(warning).toContain('model_info.input_cost_per_character');
    const image = engine.logs.find((l) => l.includes('no price known for "bedrock/amazon.nova-canvas-v1:0"'));
    expect(image).toContain('model_info.output_cost_per_image');
  });

  it('GET /routes lists the media routes', async () => {
    const res = await fetch(`${engine.url}/routes`);
    const paths = ((await res.json()) as { routes: { path: string }[] }).routes.map((r) => r.path);
    for (const p of ['/v1/rerank', '/rerank', '/v2/rerank', '/v1/moderations', '/v1/images/generations'])
      expect(paths).toContain(p);
    expect(paths).toContain('/v1/audio/speech');
    expect(paths).not.toContain('/v1/v2/rerank');
  });
});

describe('with a master key: spend logs and virtual keys', () => {
  const MASTER = 'sk-master-media-0123456789';
  let gov: TestEngine;

  beforeAll(async () => {
    gov = await startTestEngine(
      {
        model_list: [
          {
            model_name: 'dalle',
            litellm_params: { model: 'openai/dall-e-3', api_base: `${media.url}/v1`, api_key: UP_KEY },
            model_info: { output_cost_per_image: 0.04 },
          },
          { model_name: 'moderator', litellm_params: { model: 'openai/omni-moderation-latest', api_base: media.url } },
        ],
        general_settings: { master_key: MASTER, proxy_batch_write_at: 0.02, store_prompts_in_spend_logs: true },
      },
      { apiKey: MASTER },
    );
  });
  afterAll(async () => {
    await gov?.close();
  });

  it('an image call is a spend log row (call type, per-image cost); a key without access is refused', async () => {
    const auth = { authorization: `Bearer ${MASTER}` };
    await gov.openai.images.generate(
      { model: 'dalle', prompt: 'a fox', n: 2 },
      { headers: { 'x-request-id': 'img-1' } },
    );
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 250 && !row; i++) {
      const rows = (await (await fetch(`${gov.url}/spend/logs?summarize=false`, { headers: auth })).json()) as {
        request_id: string;
      }[];
      row = rows.find((r) => r.request_id === 'img-1');
      if (!row) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row).toMatchObject({ call_type: 'aimage_generation', model_group: 'dalle', status: 'success' });
    expect(row!.spend).toBeCloseTo(0.08, 10);
    const made = await post(`${gov.url}/key/generate`, { models: ['moderator'] }, auth);
    const limited = made.json.key as string;
    const refused = await post(
      `${gov.url}/v1/images/generations`,
      { model: 'dalle', prompt: 'x' },
      { authorization: `Bearer ${limited}` },
    );
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/dalle/);
    const allowed = await post(
      `${gov.url}/v1/moderations`,
      { model: 'moderator', input: 'hello' },
      { authorization: `Bearer ${limited}` },
    );
    expect(allowed.status).toBe(200);
  });

  it('with prompts stored, a moderation row keeps its results as the response', async () => {
    const auth = { authorization: `Bearer ${MASTER}` };
    await post(
      `${gov.url}/v1/moderations`,
      { model: 'moderator', input: 'I will hurt you' },
      {
        ...auth,
        'x-request-id': 'mod-1',
      },
    );
    let row: Record<string, any> | undefined;
    for (let i = 0; i < 250 && !row; i++) {
      const rows = (await (await fetch(`${gov.url}/spend/logs?summarize=false`, { headers: auth })).json()) as {
        request_id: string;
      }[];
      row = rows.find((r) => r.request_id === 'mod-1');
      if (!row) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row).toMatchObject({ call_type: 'amoderation' });
    expect(row!.response).toEqual([expect.objectContaining({ flagged: true })]);
  });
});
