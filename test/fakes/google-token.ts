/**
 * A fake Google OAuth token endpoint on 127.0.0.1 for service-account keys: it takes the JWT-bearer
 * grant, verifies the assertion's RS256 signature with the key pair's public half and its claims
 * (iss, aud, scope), and hands out a fresh access token. Also makes a service-account JSON for it.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { sendJson, startFake } from './fake-server.js';

export interface FakeGoogleToken {
  url: string;
  /** a service-account JSON whose token_uri points here */
  serviceAccount: Record<string, string>;
  /** tokens issued so far (the upstream fake accepts these) */
  issued: string[];
  /** grant requests received, with the decoded claims */
  grants: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Start the fake token endpoint. */
export async function startFakeGoogleToken(project = 'fake-project'): Promise<FakeGoogleToken> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued: string[] = [];
  const grants: Record<string, unknown>[] = [];
  let url = '';
  const fake = await startFake((call, res) => {
    const form = new URLSearchParams(call.raw);
    const send = (status: number, o: unknown) => sendJson(res, status, o);
    const [h, p, sig] = (form.get('assertion') ?? '').split('.');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !sig)
      return send(400, { error: 'unsupported_grant_type' });
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(publicKey, Buffer.from(sig, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    grants.push(claims);
    if (!ok) return send(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    if (claims.aud !== `${url}/token` || claims.iss !== 'svc@fake-project.iam.gserviceaccount.com')
      return send(400, { error: 'invalid_grant', error_description: 'Invalid JWT claims.' });
    const token = `ya29.fake-${issued.length + 1}-${Math.random().toString(36).slice(2)}`;
    issued.push(token);
    send(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  });
  url = fake.url;
  const serviceAccount = {
    type: 'service_account',
    project_id: project,
    private_key_id: 'key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'svc@fake-project.iam.gserviceaccount.com',
    client_id: '1234567890',
    token_uri: `${url}/token`,
  };
  return { url, serviceAccount, issued, grants, close: fake.close };
}
