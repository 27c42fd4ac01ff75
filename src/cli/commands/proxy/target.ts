import path from 'node:path';
import { loadLiteLLMConfig } from '../../../config/litellm/load.js';
import { UserError } from '../../../errors.js';
import { expandHome } from '../../../util/paths.js';
import type { CliContext } from '../../context.js';

/** The flags of commands that talk to a running engine's management API. */
export interface ProxyTargetOptions {
  url?: string;
  masterKey?: string;
}

/** Where `proxy start` listens when told nothing else. */
const DEFAULT_URL = 'http://127.0.0.1:4000';

/**
 * The running engine to manage and its master key. URL: `--url`, KUBIYA_PROXY_URL, LITELLM_PROXY_URL, the
 * current context's `litellm-proxy.url`, else http://127.0.0.1:4000. Key: `--master-key`, LITELLM_MASTER_KEY,
 * LITELLM_PROXY_API_KEY, the context's `litellm-proxy.master-key`, else `general_settings.master_key` of the
 * context's `litellm-proxy.config-file` (the config its local proxy runs). The context's llm-gateway-url is
 * never used: a master key must not travel to a remote gateway by default.
 */
export async function proxyTarget(ctx: CliContext, o: ProxyTargetOptions): Promise<{ url: string; key: string }> {
  const env = ctx.env;
  let url = o.url || env.KUBIYA_PROXY_URL || env.LITELLM_PROXY_URL || undefined;
  let key = o.masterKey || env.LITELLM_MASTER_KEY || env.LITELLM_PROXY_API_KEY || undefined;
  let context = '';
  if (!url || !key) {
    const store = await ctx.configStore();
    const name = store.effectiveName(env).name;
    // read raw: `url` and `master-key` are keys the typed context does not model
    const data = (store.doc.toJS() ?? {}) as { contexts?: { name: string; context?: Record<string, unknown> }[] };
    const block = data.contexts?.find((c) => c.name === name)?.context?.['litellm-proxy'] as
      | Record<string, unknown>
      | undefined;
    if (!url && typeof block?.url === 'string') url = block.url;
    if (!key && typeof block?.['master-key'] === 'string') key = block['master-key'];
    const file = block?.['config-file'];
    if (!key && typeof file === 'string' && file.trim() !== '') {
      const full = path.resolve(path.dirname(store.path), expandHome(file.trim(), env));
      try {
        const loaded = loadLiteLLMConfig({ kind: 'file', path: full, label: file }, { env });
        key = loaded.config.general_settings.master_key || undefined;
      } catch {
        // a config that does not load is reported by the commands that run it; here it only had no key
      }
    }
    if (name) context = `, or litellm-proxy.master-key in context "${name}"`;
  }
  if (!key)
    throw new UserError(`no master key: pass --master-key or set LITELLM_MASTER_KEY${context}`, {
      hint: 'the engine manages keys and spend only when it runs with a master key (general_settings.master_key)',
    });
  url ??= DEFAULT_URL;
  if (!/^https?:\/\//.test(url)) throw new UserError(`--url must be an http:// or https:// URL; found "${url}"`);
  return { url: url.replace(/\/+$/, ''), key };
}

/** One management call; an error answer becomes a UserError with the engine's message (exit 1). */
export async function callEngine(
  t: { url: string; key: string },
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown>,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (e as Error).message;
    throw new UserError(`cannot reach the engine at ${t.url} (${cause})`, {
      exitCode: 1,
      hint: 'Is it running? Start one with: kubiya proxy start --config cfg.yaml',
    });
  }
  const text = await res.text();
  let json: { error?: { message?: string } } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const msg = json?.error?.message ?? (text.slice(0, 200) || res.statusText);
    throw new UserError(`${method} ${path.split('?')[0]}: ${res.status} ${msg}`, {
      exitCode: 1,
      hint: res.status === 401 || res.status === 403 ? 'Management calls need the master key.' : undefined,
    });
  }
  return json;
}
