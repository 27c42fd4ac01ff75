/**
 * OAuth access tokens for Vertex AI, cached per deployment and refreshed 5 minutes before expiry.
 * A service-account key (`vertex_credentials`: JSON text, a path to it, or an object) is exchanged
 * with the JWT-bearer grant at the key's own `token_uri`; anything else (authorized_user files,
 * workload identity, the metadata server) goes through google-auth-library's application default
 * credentials.
 */
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GoogleAuth } from 'google-auth-library';
import { GatewayError } from '../../errors.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** The parsed credentials JSON (service account or other ADC types). */
export type GoogleCredentials = Record<string, unknown>;

/** Parse `vertex_credentials`: an object, JSON text, or a path to a JSON file. Throws with the key path. */
export function loadCredentials(value: unknown, at: string): GoogleCredentials | undefined {
  if (value == null || value === '') return undefined;
  if (typeof value === 'object') return value as GoogleCredentials;
  if (typeof value !== 'string') throw new Error(`${at}: expected service-account JSON or a path to it`);
  const text = value.trim().startsWith('{') ? value : readOr(value, at);
  try {
    return JSON.parse(text) as GoogleCredentials;
  } catch {
    throw new Error(`${at}: not valid JSON (expected a service-account key)`);
  }
}

function readOr(path: string, at: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${at}: cannot read the file ${JSON.stringify(path)}`);
  }
}

/** A cached token function for a deployment. */
export function tokenProvider(
  creds: GoogleCredentials | undefined,
  label: string,
  keyFile?: string,
): () => Promise<string> {
  const fetchToken = creds?.type === 'service_account' ? () => serviceAccountToken(creds) : adcToken(creds, keyFile);
  let token: { value: string; expires: number } | undefined;
  let pending: Promise<string> | undefined;
  return () => {
    if (token && token.expires - Date.now() > 5 * 60_000) return Promise.resolve(token.value);
    pending ??= fetchToken()
      .then((t) => {
        token = t;
        return t.value;
      })
      .catch((e: unknown) => {
        throw new GatewayError(401, {
          message: `${label}: could not get a Google access token: ${e instanceof Error ? e.message : String(e)}`,
          errorClass: 'auth',
          provider: label,
        });
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

async function serviceAccountToken(creds: GoogleCredentials): Promise<{ value: string; expires: number }> {
  const email = creds.client_email;
  const key = creds.private_key;
  if (typeof email !== 'string' || typeof key !== 'string')
    throw new Error('the service-account key has no client_email / private_key');
  const tokenUri = typeof creds.token_uri === 'string' ? creds.token_uri : DEFAULT_TOKEN_URI;
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const kid = typeof creds.private_key_id === 'string' ? { kid: creds.private_key_id } : {};
  const header = b64({ alg: 'RS256', typ: 'JWT', ...kid });
  const claims = b64({ iss: email, scope: SCOPE, aud: tokenUri, iat: now, exp: now + 3600 });
  const unsigned = `${header}.${claims}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  const res = await fetch(tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: `${unsigned}.${signature}`,
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let o: Record<string, unknown> = {};
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  if (!res.ok || typeof o.access_token !== 'string') {
    const why =
      typeof o.error_description === 'string'
        ? o.error_description
        : typeof o.error === 'string'
          ? o.error
          : `HTTP ${res.status}`;
    throw new Error(`the token endpoint refused the service account ${email}: ${why}`);
  }
  const ttl = typeof o.expires_in === 'number' ? o.expires_in : 3600;
  return { value: o.access_token, expires: Date.now() + ttl * 1000 };
}

function adcToken(
  creds: GoogleCredentials | undefined,
  keyFile?: string,
): () => Promise<{ value: string; expires: number }> {
  const auth = new GoogleAuth({
    scopes: [SCOPE],
    ...(creds ? { credentials: creds } : keyFile ? { keyFilename: keyFile } : {}),
  });
  return async () => {
    const client = await auth.getClient();
    const t = await client.getAccessToken();
    if (!t.token) throw new Error('application default credentials gave no token');
    const expiry = (client.credentials as { expiry_date?: number | null }).expiry_date;
    return { value: t.token, expires: typeof expiry === 'number' ? expiry : Date.now() + 30 * 60_000 };
  };
}
