import * as z from 'zod';

// Parsed once per load: zod's JIT (a generated parser per object schema, built with new Function on the first
// parse) costs more than it saves here (~5 ms of the engine's cold start)
z.config({ jitless: true });

const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(s)) return true;
  if (['false', 'no', '0', 'off'].includes(s)) return false;
  return v;
}, z.boolean());

/** The `litellm-proxy` block of a context, as written in the file (kebab-case keys). */
export const proxyBlockSchema = z.looseObject({
  enabled: bool.optional(),
  'config-file': z.string().optional(),
  /** a JSON string (usually a `|` block) or, leniently, a YAML mapping */
  'config-json': z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  model: z.string().optional(),
});

export const contextBodySchema = z.looseObject({
  'api-url': z.string().optional(),
  organization: z.string().optional(),
  user: z.string().optional(),
  'litellm-proxy': proxyBlockSchema.nullish(),
  'worker-command': z.string().optional(),
  'llm-gateway-url': z.string().optional(),
});

export const kubiyaConfigSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  'current-context': z.string().nullish(),
  contexts: z.array(z.looseObject({ name: z.string().min(1), context: contextBodySchema.nullish() })).nullish(),
  users: z
    .array(z.looseObject({ name: z.string().min(1), user: z.looseObject({ token: z.string().optional() }).nullish() }))
    .nullish(),
});

/** A context's proxy settings, typed. */
export interface ContextProxy {
  enabled?: boolean;
  /** as written (`~` not expanded yet) */
  configFile?: string;
  /** a JSON string or a mapping */
  configJson?: string | Record<string, unknown>;
  model?: string;
}

/** One context, with its user's token looked up from `users`. */
export interface KubiyaContext {
  name: string;
  apiUrl?: string;
  organization?: string;
  user?: string;
  /** the Kubiya API key of the context's user (never print it) */
  token?: string;
  litellmProxy?: ContextProxy;
  workerCommand?: string;
  llmGatewayUrl?: string;
}

export type KubiyaConfigData = z.infer<typeof kubiyaConfigSchema>;

/** Typed contexts from validated file data. */
export function contextsFromData(data: KubiyaConfigData): KubiyaContext[] {
  const tokens = new Map((data.users ?? []).map((u) => [u.name, u.user?.token]));
  return (data.contexts ?? []).map(({ name, context }) => {
    const c = context ?? {};
    const p = c['litellm-proxy'];
    return {
      name,
      apiUrl: c['api-url'],
      organization: c.organization,
      user: c.user,
      token: c.user ? tokens.get(c.user) : undefined,
      litellmProxy: p
        ? { enabled: p.enabled, configFile: p['config-file'], configJson: p['config-json'], model: p.model }
        : undefined,
      workerCommand: c['worker-command'],
      llmGatewayUrl: c['llm-gateway-url'],
    };
  });
}
