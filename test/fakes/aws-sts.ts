/**
 * A fake AWS STS on 127.0.0.1 answering `AssumeRole` (query protocol, form-encoded POST) with the
 * documented XML response. It records the form fields and the SigV4 credential scope of each call.
 */
import { startFake } from './fake-server.js';

export interface FakeSts {
  url: string;
  calls: { params: Record<string, string>; authorization: string }[];
  close(): Promise<void>;
}

/** Start the fake; every AssumeRole returns these temporary credentials. */
export async function startFakeSts(creds: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}): Promise<FakeSts> {
  const calls: FakeSts['calls'] = [];
  const fake = await startFake((call, res) => {
    const params = Object.fromEntries(new URLSearchParams(call.raw));
    calls.push({ params, authorization: String(call.headers.authorization ?? '') });
    if (params.Action !== 'AssumeRole') {
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(
        '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>' +
          '<Message>unknown action</Message></Error></ErrorResponse>',
      );
      return;
    }
    const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const xml = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>kubiya</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/${params.RoleArn?.split('/').pop()}/${params.RoleSessionName}</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:${params.RoleSessionName}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${creds.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${creds.secretAccessKey}</SecretAccessKey>
      <SessionToken>${creds.sessionToken}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  });
  return { url: fake.url, calls, close: fake.close };
}
