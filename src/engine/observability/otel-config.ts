import type { LiteLLMConfig } from '../../config/litellm/schema.js';
import { callbackNames, callbackSides } from './prometheus-config.js';

/** What the OpenTelemetry sink reads from the config and the environment, once at start-up. */
export interface OtelConfig {
  /** the OTLP/HTTP traces URL (`.../v1/traces`) */
  url: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS`: values may be secrets, never logged */
  headers: Record<string, string>;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  /** `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, values URL-decoded): on every span's resource */
  resourceAttributes?: Record<string, string>;
  /** send successes (`success_callback` or `callbacks`) and failures (`failure_callback` or `callbacks`) */
  successes: boolean;
  failures: boolean;
}

export const OTEL_DEFAULT_URL = 'http://localhost:4318/v1/traces';
export const OTEL_DEFAULT_SERVICE = 'litellm';

/**
 * The sink's settings when `otel` is among the callbacks (in `env`, which holds the config's
 * `environment_variables` too); undefined otherwise, or when the protocol asked for is not spoken (`warn`).
 * Standard variables first, LiteLLM's own (`OTEL_ENDPOINT`, `OTEL_HEADERS`, `OTEL_EXPORTER`) as fallbacks.
 */
export function otelConfig(
  cfg: LiteLLMConfig,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): OtelConfig | undefined {
  if (!callbackNames(cfg).includes('otel')) return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    (env.OTEL_EXPORTER === 'otlp_grpc' ? 'grpc' : 'http/protobuf')
  ).trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    warn(
      `otel callback is off: protocol ${JSON.stringify(protocol)} is not supported (use http/protobuf or http/json)`,
    );
    return undefined;
  }
  let url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!url && base) url = `${base.replace(/\/+$/, '')}/v1/traces`;
  // LiteLLM's OTEL_ENDPOINT is the whole traces URL
  url ??= env.OTEL_ENDPOINT?.trim() || OTEL_DEFAULT_URL;
  if (!/^https?:\/\//i.test(url)) url = `http://${url}`;
  const resourceAttributes = parsePairs(env.OTEL_RESOURCE_ATTRIBUTES, false);
  return {
    url,
    headers: parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS || env.OTEL_EXPORTER_OTLP_HEADERS || env.OTEL_HEADERS),
    protocol,
    // as the SDKs: OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES
    serviceName: env.OTEL_SERVICE_NAME?.trim() || resourceAttributes['service.name'] || OTEL_DEFAULT_SERVICE,
    resourceAttributes,
    ...callbackSides(cfg, 'otel'),
  };
}

/** `k1=v1,k2=v2` (values URL-decoded, as the OTLP exporter spec says); malformed pairs are skipped. */
export function parseHeaders(raw: string | undefined): Record<string, string> {
  return parsePairs(raw, true);
}

/** `k1=v1,k2=v2` with values URL-decoded; keys lower-cased for headers, kept for resource attributes. */
function parsePairs(raw: string | undefined, lowerKeys: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const k = pair.slice(0, eq).trim();
    let v = pair.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // kept as written
    }
    if (k) out[lowerKeys ? k.toLowerCase() : k] = v;
  }
  return out;
}

/** The URL without credentials or query, for the start-up log line. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
