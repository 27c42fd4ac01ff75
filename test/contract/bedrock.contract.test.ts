/** AWS Bedrock (Converse / ConverseStream, SigV4 with static keys) through the provider contract suite. */
import { expect } from 'vitest';
import { startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { CONTRACT_INPUTS as I, type RecordedCall, runContractSuite } from './harness.js';

const KEY_ID = 'AKIDCONTRACT0000001';
const SECRET = 'contract-secret-key-0123456789';
const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

function commonChecks(call: RecordedCall, op: 'converse' | 'converse-stream'): void {
  // the ':' of the model id is percent-encoded in the path
  expect(call.path).toBe(`/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/${op}`);
  expect(call.headers.authorization).toMatch(
    new RegExp(
      `^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/eu-west-1/bedrock/aws4_request, ` +
        'SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$',
    ),
  );
  expect(call.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  expect(call.headers['x-amz-security-token']).toBeUndefined();
  expect(call.raw).not.toContain(SECRET);
}

const TOOL_SPEC = {
  toolSpec: { name: I.tool.name, description: I.tool.description, inputSchema: { json: I.tool.parameters } },
};

runContractSuite({
  name: 'Bedrock',
  startFake: () => startBedrockUpstream({ [KEY_ID]: { secret: SECRET } }),
  deploymentParams: (url) => ({
    model: `bedrock/${MODEL}`,
    aws_bedrock_runtime_endpoint: url,
    aws_access_key_id: KEY_ID,
    aws_secret_access_key: SECRET,
    aws_region_name: 'eu-west-1',
  }),
  expect: {
    plain(call) {
      commonChecks(call, 'converse');
      expect(call.body).toEqual({
        system: [{ text: I.system }],
        messages: [{ role: 'user', content: [{ text: I.user }] }],
        inferenceConfig: { maxTokens: I.max_tokens, temperature: I.temperature, topP: I.top_p, stopSequences: I.stop },
      });
    },
    stream(call) {
      commonChecks(call, 'converse-stream');
      expect(call.headers.accept).toBe('application/vnd.amazon.eventstream');
      expect(call.body.messages).toEqual([{ role: 'user', content: [{ text: I.user }] }]);
    },
    tools(call) {
      commonChecks(call, 'converse');
      expect(call.body.toolConfig).toEqual({ tools: [TOOL_SPEC], toolChoice: { auto: {} } });
    },
    toolResult(call) {
      commonChecks(call, 'converse');
      expect(call.body.system).toEqual([{ text: I.system }]);
      expect(call.body.toolConfig).toEqual({ tools: [TOOL_SPEC] });
      expect(call.body.messages).toEqual([
        { role: 'user', content: [{ text: 'Weather in Paris?' }] },
        {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: I.toolCallId, name: I.tool.name, input: I.toolArgs } }],
        },
        { role: 'user', content: [{ toolResult: { toolUseId: I.toolCallId, content: [{ text: I.toolResult }] } }] },
      ]);
    },
    imageDataUrl(call) {
      commonChecks(call, 'converse');
      expect(call.body.messages[0].content).toEqual([
        { text: 'What is this?' },
        { image: { format: 'png', source: { bytes: I.pngBase64 } } },
      ]);
    },
    imageHttpsUrl() {
      throw new Error('skipped');
    },
  },
  unsupported: {
    image_https_url:
      'Bedrock takes image bytes only: the adapter downloads URLs (tested against a loopback image server ' +
      'in test/integration/bedrock.test.ts, never example.com)',
  },
  unsupportedErrors: ['content_policy'],
});
