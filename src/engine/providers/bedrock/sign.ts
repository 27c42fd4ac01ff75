/** SigV4 signing of Bedrock runtime requests (service `bedrock`), with credentials from the cached provider. */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { GatewayError } from '../../errors.js';
import type { UpstreamRequest } from '../types.js';

/** What a deployment needs to sign: the endpoint split up, and one signer built at load time. */
export interface BedrockEndpoint {
  /** `https://bedrock-runtime.us-east-1.amazonaws.com` */
  origin: string;
  /** path prefix of a custom endpoint, usually empty */
  basePath: string;
  protocol: string;
  hostname: string;
  port?: number;
  /** the Host header value (hostname[:port]) */
  host: string;
  signer: SignatureV4;
  /** extra_headers from the config (signed too) */
  extraHeaders: Record<string, string>;
}

/** Parse the runtime endpoint and create the signer. */
export function bedrockEndpoint(
  url: URL,
  region: string,
  credentials: AwsCredentialIdentityProvider,
  extraHeaders: Record<string, string>,
): BedrockEndpoint {
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'bedrock',
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    host: url.host,
    signer,
    extraHeaders,
  };
}

/** The path for a model operation: the model id (which may hold `:` or an ARN's `/`) URL-encoded. */
export function modelPath(
  ep: BedrockEndpoint,
  modelId: string,
  op: 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream' | 'count-tokens',
): string {
  return `${ep.basePath}/model/${encodeURIComponent(modelId)}/${op}`;
}

/** Sign a JSON POST and return it as an UpstreamRequest (the exact body bytes that were hashed). */
export async function signedPost(
  ep: BedrockEndpoint,
  label: string,
  path: string,
  body: string,
  accept: string,
): Promise<UpstreamRequest> {
  const headers: Record<string, string> = {
    ...ep.extraHeaders,
    host: ep.host,
    'content-type': 'application/json',
    accept,
  };
  let signed: { headers: Record<string, string> };
  try {
    signed = (await ep.signer.sign({
      method: 'POST',
      protocol: ep.protocol,
      hostname: ep.hostname,
      port: ep.port,
      path,
      query: {},
      headers,
      body,
    })) as { headers: Record<string, string> };
  } catch (e) {
    // no credentials anywhere in the chain, or STS refused the role: the client cannot be served
    const why = e instanceof Error ? e.message : String(e);
    throw new GatewayError(401, {
      message: `${label}: could not get AWS credentials: ${why}`,
      errorClass: 'auth',
      provider: label,
    });
  }
  return { origin: ep.origin, path, method: 'POST', headers: signed.headers, body };
}
