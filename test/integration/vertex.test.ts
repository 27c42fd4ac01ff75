/**
 * Vertex AI beyond the contract suite: credentials from a file path, a refused service account
 * (401, upstream never called, private key never shown), and text-embedding models through :predict.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GoogleFake, IMAGEN_PNG_B64, startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { type FakeGoogleToken, startFakeGoogleToken } from '../fakes/google-token.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

let fake: GoogleFake;
let tokens: FakeGoogleToken;
let engine: TestEngine;
let dir: TempHome;

beforeAll(async () => {
  tokens = await startFakeGoogleToken('file-proj');
  fake = await startGoogleUpstream({ tokens: () => tokens.issued });
  dir = makeTempHome('kubiya-vertex-');
  const keyFile = dir.write('sa.json', JSON.stringify(tokens.serviceAccount));
  const wrongIssuer = { ...tokens.serviceAccount, client_email: 'intruder@elsewhere.iam.gserviceaccount.com' };
  engine = await startTestEngine({
    model_list: [
      {
        model_name: 'embed',
        litellm_params: { model: 'vertex_ai/text-embedding-005', api_base: fake.url, vertex_credentials: keyFile },
        model_info: { mode: 'embedding' },
      },
      {
        model_name: 'imagen',
        litellm_params: { model: 'vertex_ai/imagen-3.0-generate-002', api_base: fake.url, vertex_credentials: keyFile },
      },
      {
        model_name: 'refused',
        litellm_params: {
          model: 'vertex_ai/gemini-2.0-flash',
          api_base: fake.url,
          vertex_project: 'p1',
          vertex_credentials: wrongIssuer,
        },
      },
    ],
  });
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
  await tokens?.close();
  dir?.cleanup();
});

describe('Vertex AI adapter', () => {
  it(
    'reads vertex_credentials from a file ' + '(project from the key, default location) and embeds through :predict',
    async () => {
      const r = await engine.openai.embeddings.create({
        model: 'embed',
        input: ['hello there', 'x'],
        dimensions: 2,
        encoding_format: 'float',
      });
      expect(r.data.map((d) => d.embedding)).toEqual([
        [1.1, 1.2],
        [0.1, 0.2],
      ]);
      expect(r.usage.prompt_tokens).toBe(3);
      expect(fake.calls[0].path).toBe(
        '/v1/projects/file-proj/locations/us-central1/publishers/google/models/text-embedding-005:predict',
      );
      expect(fake.calls[0].body).toEqual({
        instances: [{ content: 'hello there' }, { content: 'x' }],
        parameters: { outputDimensionality: 2 },
      });
      expect(tokens.grants[0]).toMatchObject({
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        iss: 'svc@fake-project.iam.gserviceaccount.com',
      });
    },
  );

  it(
    'a service account the token endpoint refuses is a 401 naming it, ' + 'without an upstream call or the private key',
    async () => {
      const before = fake.calls.length;
      const e = (await engine.openai.chat.completions
        .create({ model: 'refused', messages: [{ role: 'user', content: 'x' }] })
        .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
      expect(e.status).toBe(401);
      expect(e.message).toContain('intruder@elsewhere.iam.gserviceaccount.com');
      expect(e.message).toContain('Invalid JWT claims');
      expect(e.message).not.toContain('PRIVATE KEY');
      expect(fake.calls.length).toBe(before);
    },
  );
  it('generates images with Imagen through :predict (b64_json, or a data: URL for url)', async () => {
    const r = await engine.openai.images.generate({ model: 'imagen', prompt: 'a lighthouse', n: 2, size: '1792x1024' });
    expect(r.data!.map((d) => d.b64_json)).toEqual([IMAGEN_PNG_B64, IMAGEN_PNG_B64]);
    const call = fake.calls.at(-1)!;
    expect(call.path).toBe(
      '/v1/projects/file-proj/locations/us-central1/publishers/google/models/imagen-3.0-generate-002:predict',
    );
    expect(call.body).toEqual({
      instances: [{ prompt: 'a lighthouse' }],
      parameters: { sampleCount: 2, aspectRatio: '16:9' },
    });
    expect(call.headers.authorization).toMatch(/^Bearer /);
    const url = await engine.openai.images.generate({ model: 'imagen', prompt: 'x', response_format: 'url' });
    expect(url.data![0].url).toBe(`data:image/png;base64,${IMAGEN_PNG_B64}`);
  });
});
