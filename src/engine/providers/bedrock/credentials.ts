/**
 * AWS credentials for a Bedrock deployment, resolved once at load time into a cached, refreshing
 * provider (requests never fetch credentials themselves). Order: litellm_params keys, litellm_params
 * profile, AWS_* variables of the deployment's environment, AWS_PROFILE, then the SDK's default chain
 * (shared files, SSO, web identity, ECS, EC2 instance role via IMDSv2). `aws_role_name` assumes a
 * role through STS on top of whichever of those applies.
 */
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { str } from '../params.js';
import type { DeploymentSpec } from '../types.js';

/** Where the credentials come from (for /health and messages; never the secret itself). */
export type AwsCredentialSource = 'litellm_params' | 'profile' | 'environment' | 'default chain';

/** A provider that fetches once, shares one in-flight fetch, and refreshes 5 minutes before expiry. */
export function cachedProvider(inner: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (c: AwsCredentialIdentity) => !c.expiration || c.expiration.getTime() - Date.now() > 5 * 60_000;
  return () => {
    if (current && fresh(current)) return Promise.resolve(current);
    pending ??= inner()
      .then((c) => {
        current = c;
        return c;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** The region: aws_region_name, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function awsRegion(spec: DeploymentSpec): string {
  return (
    str(spec.params.aws_region_name) ??
    str(spec.params.region_name) ??
    str(spec.env.AWS_REGION) ??
    str(spec.env.AWS_DEFAULT_REGION) ??
    'us-east-1'
  );
}

/** Build the deployment's credential provider and say where it comes from. */
export function awsCredentials(
  spec: DeploymentSpec,
  region: string,
): { provider: AwsCredentialIdentityProvider; source: AwsCredentialSource } {
  const p = spec.params;
  const at = `${spec.at}.litellm_params`;
  let base: AwsCredentialIdentityProvider;
  let source: AwsCredentialSource;
  const keyId = str(p.aws_access_key_id);
  const secret = str(p.aws_secret_access_key);
  if (keyId || secret) {
    if (!keyId || !secret)
      throw new Error(`${at}: aws_access_key_id and aws_secret_access_key go together (only one is set)`);
    base = staticProvider(keyId, secret, str(p.aws_session_token));
    source = 'litellm_params';
  } else if (str(p.aws_profile_name)) {
    base = fromIni({ profile: str(p.aws_profile_name) });
    source = 'profile';
  } else if (str(spec.env.AWS_ACCESS_KEY_ID) && str(spec.env.AWS_SECRET_ACCESS_KEY)) {
    base = staticProvider(
      str(spec.env.AWS_ACCESS_KEY_ID)!,
      str(spec.env.AWS_SECRET_ACCESS_KEY)!,
      str(spec.env.AWS_SESSION_TOKEN),
    );
    source = 'environment';
  } else if (str(spec.env.AWS_PROFILE)) {
    base = fromIni({ profile: str(spec.env.AWS_PROFILE) });
    source = 'profile';
  } else {
    base = fromNodeProviderChain();
    source = 'default chain';
  }
  const role = str(p.aws_role_name);
  if (role) {
    const endpoint = str(p.aws_sts_endpoint);
    if (endpoint && !/^https?:\/\//.test(endpoint))
      throw new Error(`${at}.aws_sts_endpoint: expected an http(s) URL, found ${JSON.stringify(endpoint)}`);
    base = fromTemporaryCredentials({
      masterCredentials: base,
      params: {
        RoleArn: role,
        RoleSessionName: str(p.aws_session_name) ?? `kubiya-${Date.now()}`,
        ...(str(p.aws_external_id) ? { ExternalId: str(p.aws_external_id) } : {}),
      },
      clientConfig: { region, ...(endpoint ? { endpoint } : {}) },
    });
  }
  return { provider: cachedProvider(base), source };
}

function staticProvider(
  accessKeyId: string,
  secretAccessKey: string,
  sessionToken?: string,
): AwsCredentialIdentityProvider {
  const creds: AwsCredentialIdentity = sessionToken
    ? { accessKeyId, secretAccessKey, sessionToken }
    : { accessKeyId, secretAccessKey };
  return () => Promise.resolve(creds);
}
