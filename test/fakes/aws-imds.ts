/**
 * A fake EC2 instance metadata service (IMDSv2) on 127.0.0.1: `PUT /latest/api/token` hands out a
 * session token, and the role credential paths answer only with that token, like the real one.
 * Point the AWS SDK at it with AWS_EC2_METADATA_SERVICE_ENDPOINT.
 */
import { startFake } from './fake-server.js';

export interface FakeImds {
  url: string;
  /** method + path of every request */
  requests: string[];
  close(): Promise<void>;
}

/** Start the fake; it serves one role with these credentials. */
export async function startFakeImds(
  role: string,
  creds: { accessKeyId: string; secretAccessKey: string; token: string },
): Promise<FakeImds> {
  const requests: string[] = [];
  const token = `imds-token-${Math.random().toString(36).slice(2)}`;
  const fake = await startFake((req, res) => {
    requests.push(`${req.method} ${req.path}`);
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'PUT' && req.path === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, 'missing ttl');
      return send(200, token);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) return send(401, 'Unauthorized');
    if (req.method === 'GET' && req.path === '/latest/meta-data/iam/security-credentials/') return send(200, role);
    if (req.method === 'GET' && req.path === `/latest/meta-data/iam/security-credentials/${role}`) {
      const expiration = new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      return send(
        200,
        JSON.stringify({
          Code: 'Success',
          LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC',
          AccessKeyId: creds.accessKeyId,
          SecretAccessKey: creds.secretAccessKey,
          Token: creds.token,
          Expiration: expiration,
        }),
        'application/json',
      );
    }
    return send(404, 'Not Found');
  });
  return { url: fake.url, requests, close: fake.close };
}
