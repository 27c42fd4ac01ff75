import type { LiteLLMConfig } from '../../config/litellm/schema.js';

/** LiteLLM's default latency buckets (seconds) for every latency histogram. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5,
  10, 15, 20, 25, 30, 60, 120, 180, 240, 300,
];

/** What the Prometheus sink reads from the config, once at start-up. */
export interface PrometheusConfig {
  /** `require_auth_for_metrics_endpoint`: /metrics goes through the engine's authenticator */
  requireAuth: boolean;
  /** fill the `end_user` label (`enable_end_user_cost_tracking_prometheus_only`); empty otherwise (cardinality) */
  endUser: boolean;
  /** `prometheus_emit_stream_label`: a `stream` label on litellm_proxy_total_requests_metric */
  streamLabel: boolean;
  /** `custom_prometheus_metadata_labels: ["metadata.foo"]` -> label `metadata_foo` from the request's metadata */
  metadataLabels: readonly { label: string; path: readonly string[] }[];
  /** `custom_prometheus_tags: ["prod", "User-Agent: claude-cli/*"]` -> label `tag_prod="true"|"false"` */
  tagLabels: readonly { label: string; match: (tag: string) => boolean }[];
  buckets: readonly number[];
  /**
   * `prometheus_metrics_config: [{group, metrics: [...], include_labels: [...]}]`: the metrics made (names
   * without `_total`; undefined: all), and per metric the labels kept (of its default and custom labels)
   */
  enabled?: ReadonlySet<string>;
  includeLabels: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Every callback name the config lists (`callbacks`, `success_callback`, `failure_callback`). */
export function callbackNames(cfg: LiteLLMConfig): string[] {
  const ls = cfg.litellm_settings as Record<string, unknown>;
  const out: string[] = [];
  for (const key of ['callbacks', 'success_callback', 'failure_callback']) {
    const v = ls[key];
    for (const n of typeof v === 'string' ? [v] : Array.isArray(v) ? v : []) if (typeof n === 'string') out.push(n);
  }
  return out;
}

/**
 * Which outcomes a callback hears: `callbacks` both, `success_callback` successes, `failure_callback`
 * failures (a string or a list each)
 */
export function callbackSides(cfg: LiteLLMConfig, name: string): { successes: boolean; failures: boolean } {
  const ls = cfg.litellm_settings as Record<string, unknown>;
  const listed = (key: string) => {
    const v = ls[key];
    return v === name || (Array.isArray(v) && v.includes(name));
  };
  const both = listed('callbacks');
  return { successes: both || listed('success_callback'), failures: both || listed('failure_callback') };
}

/** The sink's settings when `prometheus` is among the callbacks; undefined otherwise (no /metrics). */
export function prometheusConfig(cfg: LiteLLMConfig): PrometheusConfig | undefined {
  if (!callbackNames(cfg).includes('prometheus')) return undefined;
  const ls = cfg.litellm_settings as Record<string, unknown>;
  const gs = cfg.general_settings as Record<string, unknown>;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const buckets = Array.isArray(ls.prometheus_latency_buckets)
    ? ls.prometheus_latency_buckets.filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    : [];
  return {
    requireAuth: ls.require_auth_for_metrics_endpoint === true || gs.require_auth_for_metrics_endpoint === true,
    endUser: ls.enable_end_user_cost_tracking_prometheus_only === true && ls.disable_end_user_cost_tracking !== true,
    streamLabel: ls.prometheus_emit_stream_label === true,
    metadataLabels: strings(ls.custom_prometheus_metadata_labels).map((m) => ({
      label: labelName(m),
      path: (m.startsWith('metadata.') ? m.slice('metadata.'.length) : m).split('.'),
    })),
    tagLabels: strings(ls.custom_prometheus_tags).map((t) => ({ label: labelName(`tag_${t}`), match: globMatcher(t) })),
    buckets: buckets.length > 0 ? buckets : LATENCY_BUCKETS,
    ...metricsConfig(ls.prometheus_metrics_config),
  };
}

/**
 * As LiteLLM reads `prometheus_metrics_config`: the union of the groups' metrics is what is made (an empty
 * union: everything); a group's `include_labels` apply to each of its metrics (the config's schema checked
 * the shape at load time).
 */
function metricsConfig(v: unknown): Pick<PrometheusConfig, 'enabled' | 'includeLabels'> {
  const includeLabels = new Map<string, Set<string>>();
  if (!Array.isArray(v)) return { includeLabels };
  const enabled = new Set<string>();
  for (const g of v as { metrics?: unknown; include_labels?: unknown }[]) {
    const metrics = Array.isArray(g.metrics) ? g.metrics.filter((m): m is string => typeof m === 'string') : [];
    for (const m of metrics) {
      // a name with the exposition's `_total` suffix means the same counter
      const name = m.endsWith('_total') ? m.slice(0, -'_total'.length) : m;
      enabled.add(name);
      if (Array.isArray(g.include_labels)) {
        includeLabels.set(name, new Set(g.include_labels.filter((l): l is string => typeof l === 'string')));
      }
    }
  }
  return { enabled: enabled.size > 0 ? enabled : undefined, includeLabels };
}

/** A valid Prometheus label name: anything outside [a-zA-Z0-9_] becomes `_`, and it never starts with a digit. */
export function labelName(s: string): string {
  const n = s.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(n) ? n : `_${n}`;
}

/** `*` matches any run of characters; everything else literally. */
function globMatcher(pattern: string): (tag: string) => boolean {
  if (!pattern.includes('*')) return (t) => t === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return (t) => re.test(t);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
