/**
 * The pass-through routes (docs/pass-through.md): `/anthropic`, `/openai`, `/azure`, `/bedrock` and
 * `/vertex_ai` forward to the provider with the engine's credentials from the environment, and
 * `general_settings.pass_through_endpoints` adds routes of its own (path, target, headers). Built once at
 * start-up; a route's credentials (AWS signer, Google token) are made on its first request.
 */
import type { ProviderId } from '../providers/types.js';
import type { UpstreamRequest } from '../wire.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Adds the engine's credentials to a request about to go upstream (SigV4, a Google token). */
export type Signer = (req: UpstreamRequest) => Promise<UpstreamRequest>;

export interface PassThroughRoute {
  /** the path prefix clients call, e.g. `/anthropic` */
  prefix: string;
  /** sub-paths are served too (provider routes always; configured ones with include_subpath) */
  subpaths: boolean;
  label: string;
  /** the provider a provider route goes to (its inference calls are metered in that API's shapes) */
  provider?: ProviderId;
  /** where requests go; undefined when the environment does not say (the reason is `missing`) */
  target?: URL;
  missing?: string;
  /** headers added to every request (credentials, the config's `headers`) */
  headers: Record<string, string>;
  /** the client's own headers go upstream too (provider routes; configured ones with forward_headers) */
  forwardHeaders: boolean;
  /** provider routes: a target path ending in /v1 and a sub-path starting with it give one /v1 */
  dedupeV1: boolean;
  /**
   * Google AI Studio's way (`/gemini`): the caller's engine key may come as `x-goog-api-key` or the `key` query
   * parameter, which is never forwarded (the engine's key goes in its place)
   */
  googleKeys?: boolean;
  /** the target for one sub-path, when it depends on it (Vertex AI: the location in the path) */
  targetFor?: (rest: string) => URL;
  /** made on first use */
  signer?: () => Promise<Signer>;
}

/** A route and the sub-path after its prefix (`/v1/messages` for `/anthropic/v1/messages`). */
export interface PassThroughMatch {
  route: PassThroughRoute;
  rest: string;
}

export class PassThrough {
  constructor(readonly routes: readonly PassThroughRoute[]) {}

  /** The route serving `path` (configured routes first, then the longest prefix). */
  match(path: string): PassThroughMatch | undefined {
    for (const route of this.routes) {
      const p = route.prefix;
      if (path === p) return { route, rest: '' };
      if (route.subpaths && path.startsWith(p) && path.charCodeAt(p.length) === 47) {
        return { route, rest: path.slice(p.length) };
      }
    }
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function url(raw: string, at: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${at}: expected an http(s) URL, found ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`${at}: expected an http(s) URL, found ${JSON.stringify(raw)}`);
  return u;
}

/** A provider route whose base comes from `baseVar` (else `fallback`) and whose key from `keyVar`. */
function provider(
  env: Env,
  id: ProviderId,
  prefix: string,
  label: string,
  baseVar: string,
  fallback: string | undefined,
  auth: (key: string) => Record<string, string>,
  keyVar: string,
): PassThroughRoute {
  const base = str(env[baseVar]) ?? fallback;
  const key = str(env[keyVar]);
  let target: URL | undefined;
  let missing: string | undefined;
  try {
    target = base ? url(base, baseVar) : undefined;
    if (!target) missing = `set ${baseVar} to the ${label} endpoint`;
  } catch (e) {
    missing = (e as Error).message; // a bad variable only disables its route
  }
  return {
    prefix,
    subpaths: true,
    label,
    provider: id,
    target,
    missing,
    headers: key ? auth(key) : {},
    forwardHeaders: true,
    dedupeV1: true,
  };
}

/** The AWS region of the Bedrock route: AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
function awsRegion(env: Env): string {
  return str(env.AWS_REGION_NAME) ?? str(env.AWS_REGION) ?? str(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
}

function bedrock(env: Env): PassThroughRoute {
  const region = awsRegion(env);
  const raw = str(env.AWS_BEDROCK_RUNTIME_ENDPOINT) ?? `https://bedrock-runtime.${region}.amazonaws.com`;
  const target = url(raw, 'AWS_BEDROCK_RUNTIME_ENDPOINT');
  let signer: Promise<Signer> | undefined;
  return {
    prefix: '/bedrock',
    subpaths: true,
    label: 'Bedrock',
    provider: 'bedrock',
    target,
    headers: {},
    forwardHeaders: true,
    dedupeV1: false,
    // the Bedrock adapter's credential chain and SigV4 signer, loaded with the first request
    signer: () => (signer ??= bedrockSigner(env, region, target)),
  };
}

async function bedrockSigner(env: Env, region: string, target: URL): Promise<Signer> {
  const { awsCredentials } = await import('../providers/bedrock/credentials.js');
  const { bedrockEndpoint } = await import('../providers/bedrock/sign.js');
  const { GatewayError } = await import('../errors.js');
  const spec = { modelName: '', provider: 'bedrock' as const, model: '', params: {}, info: {}, env, at: '/bedrock' };
  const { provider: creds } = awsCredentials(spec, region);
  const ep = bedrockEndpoint(target, region, creds, {});
  return async (req) => {
    const q = req.path.indexOf('?');
    const path = q === -1 ? req.path : req.path.slice(0, q);
    const query: Record<string, string | string[]> = {};
    if (q !== -1) {
      for (const [k, v] of new URLSearchParams(req.path.slice(q + 1))) {
        const had = query[k];
        query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      }
    }
    try {
      const signed = await ep.signer.sign({
        method: req.method,
        protocol: ep.protocol,
        hostname: ep.hostname,
        port: ep.port,
        path,
        query,
        headers: { ...req.headers, host: ep.host },
        body: req.body,
      });
      return { ...req, headers: signed.headers as Record<string, string> };
    } catch (e) {
      throw new GatewayError(401, {
        message: `Bedrock: could not get AWS credentials: ${e instanceof Error ? e.message : String(e)}`,
        errorClass: 'auth',
        provider: 'Bedrock',
      });
    }
  };
}

/**
 * Vertex AI: the host is the location's (`/v1/projects/p/locations/europe-west4/...` goes to
 * europe-west4-aiplatform.googleapis.com), unless VERTEXAI_API_BASE names one; the token comes from
 * VERTEXAI_CREDENTIALS (service-account JSON or a path) or application default credentials.
 */
function vertex(env: Env): PassThroughRoute {
  const base = str(env.VERTEXAI_API_BASE);
  const fixed = base ? url(base, 'VERTEXAI_API_BASE') : undefined;
  const fallback = str(env.VERTEXAI_LOCATION) ?? str(env.VERTEX_LOCATION) ?? 'us-central1';
  let signer: Promise<Signer> | undefined;
  return {
    prefix: '/vertex_ai',
    subpaths: true,
    label: 'Vertex AI',
    provider: 'vertex_ai',
    target: fixed ?? new URL(`https://${fallback}-aiplatform.googleapis.com`),
    targetFor: fixed
      ? undefined
      : (rest) => {
          const loc = /\/locations\/([a-z0-9-]+)\//.exec(rest)?.[1] ?? fallback;
          return new URL(
            loc === 'global' ? 'https://aiplatform.googleapis.com' : `https://${loc}-aiplatform.googleapis.com`,
          );
        },
    headers: {},
    forwardHeaders: true,
    dedupeV1: false,
    signer: () => (signer ??= vertexSigner(env)),
  };
}

async function vertexSigner(env: Env): Promise<Signer> {
  const { loadCredentials, tokenProvider } = await import('../providers/vertex/auth.js');
  const creds = loadCredentials(env.VERTEXAI_CREDENTIALS, 'VERTEXAI_CREDENTIALS');
  const token = tokenProvider(creds, 'Vertex AI', str(env.GOOGLE_APPLICATION_CREDENTIALS));
  return async (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${await token()}` } });
}

/** One `general_settings.pass_through_endpoints` entry (shape checked by the config schema). */
export interface PassThroughEndpointConfig {
  path: string;
  /** undefined when it referred to an unset environment variable (warned about at load) */
  target?: string;
  headers?: Record<string, string>;
  forward_headers?: boolean;
  include_subpath?: boolean;
}

/** Build the routes: the config's first (they may shadow a provider prefix), then the providers'. */
export function buildPassThrough(configured: readonly PassThroughEndpointConfig[] | undefined, env: Env): PassThrough {
  const routes: PassThroughRoute[] = [];
  (configured ?? []).forEach((c, i) => {
    const at = `general_settings.pass_through_endpoints[${i}]`;
    const prefix = c.path.length > 1 ? c.path.replace(/\/+$/, '') : c.path;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = String(v);
    routes.push({
      prefix,
      subpaths: c.include_subpath === true,
      label: prefix,
      target: c.target === undefined ? undefined : url(c.target, `${at}.target`),
      missing:
        c.target === undefined ? `${at}.target is not set (missing, or its os.environ/ variable is unset)` : undefined,
      headers,
      forwardHeaders: c.forward_headers === true,
      dedupeV1: false,
    });
  });
  routes.sort((a, b) => b.prefix.length - a.prefix.length);
  routes.push(
    provider(
      env,
      'anthropic',
      '/anthropic',
      'Anthropic',
      'ANTHROPIC_API_BASE',
      'https://api.anthropic.com',
      (k) => ({ 'x-api-key': k }),
      'ANTHROPIC_API_KEY',
    ),
    provider(
      env,
      'openai',
      '/openai',
      'OpenAI',
      'OPENAI_API_BASE',
      'https://api.openai.com',
      (k) => ({ authorization: `Bearer ${k}` }),
      'OPENAI_API_KEY',
    ),
    provider(
      env,
      'azure',
      '/azure',
      'Azure OpenAI',
      'AZURE_API_BASE',
      undefined,
      (k) => ({ 'api-key': k }),
      'AZURE_API_KEY',
    ),
    {
      ...provider(
        env,
        'gemini',
        '/gemini',
        'Google AI Studio',
        'GEMINI_API_BASE',
        'https://generativelanguage.googleapis.com',
        (k) => ({ 'x-goog-api-key': k }),
        'GEMINI_API_KEY',
      ),
      googleKeys: true,
    },
    bedrock(env),
    vertex(env),
  );
  return new PassThrough(routes);
}
