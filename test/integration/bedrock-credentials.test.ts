/**
 * Bedrock credential sources through a real engine: the default chain reaching an EC2 instance role
 * (IMDSv2 against a loopback fake), STS AssumeRole (fake STS), a named profile, and no credentials at
 * all. The AWS SDK reads some settings from process.env only, so this file sets them for its own
 * worker process (vitest runs each file in its own fork) and points every lookup at loopback.
 */
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeImds, startFakeImds } from '../fakes/aws-imds.js';
import { type FakeSts, startFakeSts } from '../fakes/aws-sts.js';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const IMDS_CREDS = {
  accessKeyId: 'ASIAIMDSROLE0000001',
  secretAccessKey: 'imds-secret-abcdef0123456789',
  token: 'imds-session-token-xyz',
};
const BASE = { id: 'AKIDBASEUSER0000001', secret: 'base-user-secret-0123456789' };
const ASSUMED = {
  accessKeyId: 'ASIAASSUMED00000001',
  secretAccessKey: 'assumed-secret-0123456789',
  sessionToken: 'assumed-session-token-abc',
};
const PROFILE = { id: 'AKIDPROFILE00000001', secret: 'profile-secret-0123456789' };

let bedrock: BedrockFake;
let imds: FakeImds;
let sts: FakeSts;
let dir: TempHome;
const engines: TestEngine[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  bedrock = await startBedrockUpstream({
    [IMDS_CREDS.accessKeyId]: { secret: IMDS_CREDS.secretAccessKey, sessionToken: IMDS_CREDS.token },
    [ASSUMED.accessKeyId]: { secret: ASSUMED.secretAccessKey, sessionToken: ASSUMED.sessionToken },
    [PROFILE.id]: { secret: PROFILE.secret },
  });
  imds = await startFakeImds('kubiya-worker-role', IMDS_CREDS);
  sts = await startFakeSts(ASSUMED);
  dir = makeTempHome('kubiya-aws-');
  const credentials = dir.write(
    'credentials',
    '[other]\naws_access_key_id = AKIDWRONGOTHER00001\naws_secret_access_key = nope\n\n' +
      `[team]\naws_access_key_id = ${PROFILE.id}\naws_secret_access_key = ${PROFILE.secret}\n`,
  );
  const config = dir.write('config', '');
  // keep the SDK's default chain on loopback and away from the developer's own AWS setup
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  process.env.AWS_CONFIG_FILE = config;
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url;
});
afterAll(async () => {
  process.env = saved;
  await Promise.all([bedrock?.close(), imds?.close(), sts?.close()]);
  dir?.cleanup();
});
afterEach(async () => {
  while (engines.length) await engines.pop()!.close();
  bedrock.calls.length = 0;
  bedrock.scopes.length = 0;
});

async function engineWith(params: Record<string, unknown>, env: Record<string, string> = {}): Promise<OpenAI> {
  const e = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude',
          litellm_params: {
            model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0',
            aws_bedrock_runtime_endpoint: bedrock.url,
            ...params,
          },
        },
      ],
    },
    { env },
  );
  engines.push(e);
  return e.openai;
}

const ask = (c: OpenAI) => c.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] });

describe('Bedrock credentials', () => {
  it(
    'with nothing configured, uses the instance role from IMDSv2 (token first), ' + 'fetched once for many requests',
    async () => {
      bedrock.script({ type: 'text', text: 'from the role', usage: { input: 3, output: 3 } });
      const c = await engineWith({ aws_region_name: 'us-west-2' });
      for (let i = 0; i < 3; i++) expect((await ask(c)).choices[0].message.content).toBe('from the role');
      expect(bedrock.scopes.map((s) => s.accessKeyId)).toEqual(Array(3).fill(IMDS_CREDS.accessKeyId));
      expect(bedrock.scopes[0]).toMatchObject({ region: 'us-west-2', service: 'bedrock' });
      expect(bedrock.calls[0].headers['x-amz-security-token']).toBe(IMDS_CREDS.token);
      expect(imds.requests[0]).toBe('PUT /latest/api/token');
      expect(
        imds.requests.filter((r) => r === 'GET /latest/meta-data/iam/security-credentials/kubiya-worker-role'),
      ).toHaveLength(1);
    },
  );

  it(
    'aws_role_name assumes the role through STS (aws_sts_endpoint) with the base keys, once, ' +
      'and signs with the temporary credentials',
    async () => {
      bedrock.script({ type: 'text', text: 'assumed', usage: { input: 3, output: 3 } });
      const c = await engineWith({
        aws_access_key_id: BASE.id,
        aws_secret_access_key: BASE.secret,
        aws_region_name: 'eu-central-1',
        aws_role_name: 'arn:aws:iam::123456789012:role/bedrock-caller',
        aws_session_name: 'kubiya-test',
        aws_sts_endpoint: sts.url,
      });
      expect((await ask(c)).choices[0].message.content).toBe('assumed');
      expect((await ask(c)).choices[0].message.content).toBe('assumed');
      expect(sts.calls).toHaveLength(1);
      expect(sts.calls[0].params).toMatchObject({
        Action: 'AssumeRole',
        RoleArn: 'arn:aws:iam::123456789012:role/bedrock-caller',
        RoleSessionName: 'kubiya-test',
      });
      expect(sts.calls[0].authorization).toMatch(
        new RegExp(`Credential=${BASE.id}/\\d{8}/eu-central-1/sts/aws4_request`),
      );
      expect(bedrock.scopes.map((s) => s.accessKeyId)).toEqual([ASSUMED.accessKeyId, ASSUMED.accessKeyId]);
      expect(bedrock.calls[1].headers['x-amz-security-token']).toBe(ASSUMED.sessionToken);
    },
  );

  it('aws_profile_name reads that profile from the shared credentials file', async () => {
    bedrock.script({ type: 'text', text: 'profiled', usage: { input: 3, output: 3 } });
    const c = await engineWith({ aws_profile_name: 'team' });
    expect((await ask(c)).choices[0].message.content).toBe('profiled');
    expect(bedrock.scopes[0]).toMatchObject({ accessKeyId: PROFILE.id, region: 'us-east-1' });
  });

  it(
    'with no credentials anywhere (IMDS disabled), answers 401 naming the problem, ' + 'without calling Bedrock',
    async () => {
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      try {
        const c = await engineWith({});
        const err = (await ask(c).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
        expect(err.status).toBe(401);
        expect(err.message).toMatch(/could not get AWS credentials/);
        expect(bedrock.calls).toHaveLength(0);
      } finally {
        delete process.env.AWS_EC2_METADATA_DISABLED;
      }
    },
  );
});
