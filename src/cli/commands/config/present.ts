import type { KubiyaConfigFile, KubiyaContext } from '../../../config/contexts/index.js';
import { maskSecrets, maskValue } from '../../../config/litellm/secrets.js';

/** A context for JSON output: the token never appears, only whether there is one; inline configs are masked. */
export function contextJson(c: KubiyaContext): Record<string, unknown> {
  const p = c.litellmProxy;
  return {
    name: c.name,
    apiUrl: c.apiUrl ?? null,
    organization: c.organization ?? null,
    user: c.user ?? null,
    hasToken: !!c.token,
    workerCommand: c.workerCommand ?? null,
    llmGatewayUrl: c.llmGatewayUrl ?? null,
    litellmProxy: p
      ? {
          enabled: p.enabled ?? null,
          configFile: p.configFile ?? null,
          configJson: maskInline(p.configJson) ?? null,
          model: p.model ?? null,
        }
      : null,
  };
}

function maskInline(v: string | Record<string, unknown> | undefined): unknown {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return maskSecrets(v);
  try {
    return JSON.stringify(maskSecrets(JSON.parse(v)));
  } catch {
    return v; // not JSON: shown as written (worker start reports the syntax error)
  }
}

/** The whole file as data with every token, key and secret-looking value masked. */
export function maskedDocument(cfg: KubiyaConfigFile): unknown {
  const data = (cfg.doc.toJS() ?? {}) as Record<string, unknown>;
  const masked = maskSecrets(data) as Record<string, unknown>;
  for (const entry of asList(masked.contexts)) {
    const proxy = (entry?.context as Record<string, unknown> | undefined)?.['litellm-proxy'] as
      | Record<string, unknown>
      | undefined;
    if (proxy && proxy['config-json'] !== undefined) {
      const m = maskInline(proxy['config-json'] as string | Record<string, unknown>);
      proxy['config-json'] =
        typeof m === 'string' && typeof proxy['config-json'] === 'string' && proxy['config-json'].endsWith('\n')
          ? `${m}\n`
          : m;
    }
  }
  for (const u of asList(masked.users)) {
    const body = u?.user as Record<string, unknown> | undefined;
    if (body && typeof body.token === 'string') body.token = maskValue(body.token);
  }
  return masked;
}

function asList(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
}
