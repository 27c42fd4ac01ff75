import { createHash } from 'node:crypto';
import { request } from 'undici';

/** Default bound on a control-plane call; `KUBIYA_CONTROL_PLANE_TIMEOUT` (seconds, decimals allowed) overrides it. */
export const DEFAULT_TIMEOUT_MS = 5_000;

/** The queue settings `worker start` uses (from `settings` of the queue's config). */
export interface QueueSettings {
  enableLocalLitellmProxy?: boolean;
  /** a LiteLLM config: an object, or a JSON/YAML string */
  litellmConfig?: unknown;
  localProxyTimeoutSeconds?: number;
  localProxyMaxRetries?: number;
}

export type QueueConfigResult =
  | {
      ok: true;
      settings: QueueSettings;
      warnings: string[];
      /**
       * the queue's config version: the control plane's `config_version` (a hash it computes over the queue's
       * settings and attributes), else `sha256:` + a hash of the settings as sent
       */
      version?: string;
      /** the worker package version the control plane recommends (`recommended_package_version`), if any */
      recommendedPackageVersion?: string;
    }
  | { ok: false; reason: string; status?: number };

export interface FetchQueueArgs {
  controlPlaneUrl: string;
  apiKey: string;
  queueId: string;
  timeoutMs?: number;
}

/** The timeout for control-plane calls, from `KUBIYA_CONTROL_PLANE_TIMEOUT` when set and valid. */
export function controlPlaneTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.KUBIYA_CONTROL_PLANE_TIMEOUT;
  if (v === undefined || v.trim() === '') return DEFAULT_TIMEOUT_MS;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : DEFAULT_TIMEOUT_MS;
}

/**
 * `GET {cp}/api/v1/worker-queues/{queue}/config` with the API key. Never throws: a network error,
 * a timeout or an error status comes back as `{ok: false, reason}` so the caller can fall back.
 */
export async function fetchQueueConfig(args: FetchQueueArgs): Promise<QueueConfigResult> {
  const timeoutMs = args.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = args.controlPlaneUrl.replace(/\/+$/, '');
  const url = `${base}/api/v1/worker-queues/${encodeURIComponent(args.queueId)}/config`;
  let status: number;
  let text: string;
  const signal = AbortSignal.timeout(timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${args.apiKey}`, accept: 'application/json' },
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
      break;
    } catch (e) {
      // a kept-alive connection the server had just closed: a GET is safe to send once more, on a new one
      if (attempt === 1 && !signal.aborted && connectionLost(e)) continue;
      return { ok: false, reason: networkReason(e, url, timeoutMs) };
    }
  }
  if (status === 401 || status === 403)
    return { ok: false, status, reason: `the control plane rejected the API key (HTTP ${status}) at ${url}` };
  if (status === 404)
    return { ok: false, status, reason: `the control plane has no queue "${args.queueId}" (HTTP 404 at ${url})` };
  if (status < 200 || status >= 300)
    return { ok: false, status, reason: `the control plane answered HTTP ${status} at ${url}${brief(text)}` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, status, reason: `the control plane answered with something that is not JSON at ${url}` };
  }
  const root = isObj(body) ? body : {};
  const rec = root.recommended_package_version;
  return {
    ok: true,
    ...settingsFrom(body),
    version:
      typeof root.config_version === 'string' && root.config_version !== ''
        ? root.config_version
        : `sha256:${createHash('sha256')
            .update(canonicalJson(root.settings ?? {}))
            .digest('hex')}`,
    ...(typeof rec === 'string' && rec.trim() !== '' ? { recommendedPackageVersion: rec.trim() } : {}),
  };
}

/** JSON with object keys sorted, so the same settings always hash the same. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

function settingsFrom(body: unknown): { settings: QueueSettings; warnings: string[] } {
  const warnings: string[] = [];
  const root = isObj(body) ? body : {};
  const s = isObj(root.settings) ? root.settings : {};
  const settings: QueueSettings = {};
  const en = s.enable_local_litellm_proxy;
  if (typeof en === 'boolean') settings.enableLocalLitellmProxy = en;
  else if (en !== undefined && en !== null)
    warnings.push(
      `queue settings: enable_local_litellm_proxy: expected true or false, found ${JSON.stringify(en)}; ignored`,
    );
  if (s.litellm_config !== undefined && s.litellm_config !== null) settings.litellmConfig = s.litellm_config;
  const num = (key: string, set: (n: number) => void) => {
    const v = s[key];
    if (v === undefined || v === null) return;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) set(n);
    else warnings.push(`queue settings: ${key}: expected a non-negative number, found ${JSON.stringify(v)}; ignored`);
  };
  num('local_proxy_timeout_seconds', (n) => (settings.localProxyTimeoutSeconds = n));
  num('local_proxy_max_retries', (n) => (settings.localProxyMaxRetries = Math.floor(n)));
  return { settings, warnings };
}

/** The connection broke under a request (reset, closed socket), as opposed to a refusal or a timeout. */
function connectionLost(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

function networkReason(e: unknown, url: string, timeoutMs: number): string {
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code;
  if (
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `the control plane did not answer within ${timeoutMs / 1000} s (${url})`;
  }
  if (code === 'ECONNREFUSED') return `the control plane refused the connection (${url})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the control plane host could not be resolved (${url})`;
  return `the control plane could not be reached (${url}): ${code ?? err.message ?? String(e)}`;
}

function brief(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t ? `: ${t.length > 120 ? `${t.slice(0, 120)}...` : t}` : '';
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
