/** Google AI Studio (Gemini API, key in x-goog-api-key) through the provider contract suite. */
import { expect } from 'vitest';
import { startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { googleChecks } from '../fakes/google-checks.js';
import { runContractSuite } from './harness.js';

const KEY = 'AIzaFakeContractKey0123456789';

runContractSuite({
  name: 'Gemini',
  startFake: () => startGoogleUpstream({ apiKey: KEY }),
  deploymentParams: (url) => ({ model: 'gemini/gemini-2.0-flash', api_base: url }),
  env: { GEMINI_API_KEY: KEY },
  expect: googleChecks('/v1beta/models', (call) => {
    expect(call.headers['x-goog-api-key']).toBe(KEY);
    expect(call.headers.authorization).toBeUndefined();
    expect(call.path).not.toContain(KEY);
  }),
  unsupportedErrors: ['content_policy'],
});
