/** Vertex AI (Gemini on Vertex, OAuth token from a service-account key) through the provider contract suite. */
import { afterAll, expect } from 'vitest';
import { startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { googleChecks } from '../fakes/google-checks.js';
import { startFakeGoogleToken } from '../fakes/google-token.js';
import { runContractSuite } from './harness.js';

const tokens = await startFakeGoogleToken('contract-proj');
afterAll(() => tokens.close());

runContractSuite({
  name: 'Vertex AI',
  startFake: () => startGoogleUpstream({ tokens: () => tokens.issued }),
  deploymentParams: (url) => ({
    model: 'vertex_ai/gemini-2.0-flash',
    api_base: url,
    vertex_location: 'europe-west4',
    vertex_credentials: JSON.stringify(tokens.serviceAccount),
  }),
  expect: googleChecks('/v1/projects/contract-proj/locations/europe-west4/publishers/google/models', (call) => {
    expect(call.headers.authorization).toBe(`Bearer ${tokens.issued[0]}`);
    expect(call.headers['x-goog-api-key']).toBeUndefined();
    // one token for the whole suite: cached, not fetched per request
    expect(tokens.issued).toHaveLength(1);
  }),
  unsupportedErrors: ['content_policy'],
});
