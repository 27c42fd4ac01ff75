/** The media endpoints' costs: per-unit prices from a price map entry or model_info, and the units of an answer. */
import { describe, expect, it } from 'vitest';
import { callCost, deploymentPrice } from '../../src/engine/cost/cost.js';
import { compilePriceMap } from '../../src/engine/cost/prices.js';
import { mediaUsage } from '../../src/engine/media/units.js';

const map = compilePriceMap({
  'tts-1': { input_cost_per_character: 0.000015, litellm_provider: 'openai', mode: 'audio_speech' },
  'dall-e-3': { output_cost_per_image: 0.04, litellm_provider: 'openai', mode: 'image_generation' },
  'rerank-v3.5': { input_cost_per_query: 0.002, litellm_provider: 'cohere', mode: 'rerank' },
  'whisper-1': { input_cost_per_second: 0.0001, output_cost_per_second: 0.0001, mode: 'audio_transcription' },
});
const model = (m: string, info: Record<string, unknown> = {}) => ({
  litellmModel: `openai/${m}`,
  provider: 'openai',
  model: m,
  info,
  params: {},
});

describe('per-unit prices', () => {
  it('entries with only a per-unit price are kept, with their mode', () => {
    expect(map.get('tts-1')).toMatchObject({ perCharacter: 0.000015, input: 0, output: 0, mode: 'audio_speech' });
    expect(map.get('dall-e-3')?.perImage).toBe(0.04);
    expect(map.get('rerank-v3.5')?.perQuery).toBe(0.002);
  });

  it('bills images made, queries, characters spoken', () => {
    const images = mediaUsage('image_generation', { prompt: 'x' }, { data: [{}, {}, {}] }, undefined);
    expect(callCost(map.get('dall-e-3')!, images, 5000)).toBeCloseTo(0.12, 12);
    const rerank = mediaUsage('rerank', {}, { results: [], meta: { billed_units: { search_units: 2 } } }, undefined);
    expect(callCost(map.get('rerank-v3.5')!, rerank, 10)).toBeCloseTo(0.004, 12);
    const speech = mediaUsage('audio_speech', { input: 'Hello, world' }, undefined, undefined);
    expect(callCost(map.get('tts-1')!, speech, 999)).toBeCloseTo(12 * 0.000015, 12);
  });

  it('per-second audio bills the duration the answer gives, else the call time', () => {
    const p = map.get('whisper-1')!;
    expect(callCost(p, mediaUsage('audio_transcription', {}, { text: 'x', duration: 10 }, undefined), 800)).toBeCloseTo(
      0.002,
      12,
    );
    expect(callCost(p, mediaUsage('audio_transcription', {}, { text: 'x' }, undefined), 3000)).toBeCloseTo(0.0006, 12);
  });

  it('gpt-image style usage (input_tokens / output_tokens) is read as tokens', () => {
    const u = mediaUsage(
      'image_generation',
      {},
      { data: [{}], usage: { input_tokens: 10, output_tokens: 100 } },
      undefined,
    );
    expect(u).toMatchObject({ prompt: 10, completion: 100, total: 110, images: 1 });
  });

  it('model_info per-unit keys override the map', () => {
    const p = deploymentPrice(map, model('dall-e-3', { output_cost_per_image: 0.08 }))!;
    expect(p.perImage).toBe(0.08);
    expect(p.source).toBe('model_info');
    const own = deploymentPrice(map, model('my-reranker', { input_cost_per_query: 0.001 }))!;
    expect(own.perQuery).toBe(0.001);
  });
});
