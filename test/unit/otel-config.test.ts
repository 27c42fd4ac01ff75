/** The otel sink's settings from the environment, and the W3C traceparent parsing. */
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { parentOf } from '../../src/engine/observability/otel.js';
import { otelConfig, parseHeaders, publicUrl } from '../../src/engine/observability/otel-config.js';

const model_list = [{ model_name: 'm', litellm_params: { model: 'openai/x', mock_response: 'hi' } }];
const cfg = (litellm_settings: Record<string, unknown>) =>
  loadLiteLLMConfig({ kind: 'object', value: { model_list, litellm_settings }, label: 't' }, { env: {} }).config;
const quiet = () => {};

describe('otelConfig', () => {
  it('off unless otel is among the callbacks', () => {
    expect(otelConfig(cfg({ callbacks: ['prometheus'] }), {}, quiet)).toBeUndefined();
  });

  it('defaults: localhost:4318, http/protobuf, service litellm, successes and failures', () => {
    expect(otelConfig(cfg({ callbacks: ['otel'] }), {}, quiet)).toEqual({
      url: 'http://localhost:4318/v1/traces',
      headers: {},
      protocol: 'http/protobuf',
      serviceName: 'litellm',
      resourceAttributes: {},
      successes: true,
      failures: true,
    });
  });

  it('OTEL_RESOURCE_ATTRIBUTES: pairs URL-decoded, keys kept; OTEL_SERVICE_NAME wins over its service.name', () => {
    const env = {
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team.name=ml%20ops,bad,service.name=from-attrs',
    };
    expect(otelConfig(cfg({ callbacks: ['otel'] }), env, quiet)).toMatchObject({
      serviceName: 'from-attrs',
      resourceAttributes: { 'deployment.environment': 'prod', 'team.name': 'ml ops', 'service.name': 'from-attrs' },
    });
    expect(otelConfig(cfg({ callbacks: ['otel'] }), { ...env, OTEL_SERVICE_NAME: 'svc' }, quiet)?.serviceName).toBe(
      'svc',
    );
  });

  it('standard variables first (traces-specific over general), LiteLLM names as fallbacks', () => {
    const c = otelConfig(
      cfg({ success_callback: 'otel' }),
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_ENDPOINT: 'http://ignored/v1/traces',
        OTEL_EXPORTER_OTLP_HEADERS: 'a=1, B = two%20words ,bad, =x',
        OTEL_HEADERS: 'ignored=1',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'svc',
      },
      quiet,
    );
    expect(c).toMatchObject({
      url: 'http://collector:4318/v1/traces',
      headers: { a: '1', b: 'two words' },
      protocol: 'http/json',
      serviceName: 'svc',
      successes: true,
      failures: false,
    });
    const t = otelConfig(
      cfg({ failure_callback: ['otel'] }),
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x/otlp/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://no' },
      quiet,
    );
    expect(t).toMatchObject({ url: 'https://x/otlp/traces', successes: false, failures: true });
    const l = otelConfig(
      cfg({ callbacks: ['otel'] }),
      { OTEL_ENDPOINT: 'x:4318/v1/traces', OTEL_HEADERS: 'k=v' },
      quiet,
    );
    expect(l).toMatchObject({ url: 'http://x:4318/v1/traces', headers: { k: 'v' } });
  });

  it('grpc is refused with a warning', () => {
    const warnings: string[] = [];
    const w = (m: string) => warnings.push(m);
    expect(otelConfig(cfg({ callbacks: ['otel'] }), { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, w)).toBeUndefined();
    expect(otelConfig(cfg({ callbacks: ['otel'] }), { OTEL_EXPORTER: 'otlp_grpc' }, w)).toBeUndefined();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"grpc" is not supported');
  });

  it('helpers: headers parsing and the loggable URL', () => {
    expect(parseHeaders(undefined)).toEqual({});
    expect(parseHeaders('x=a=b')).toEqual({ x: 'a=b' });
    expect(publicUrl('https://user:pass@host:1/v1/traces?token=s')).toBe('https://host:1/v1/traces');
  });
});

describe('parentOf (traceparent)', () => {
  const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
  const sid = '00f067aa0ba902b7';
  it('a valid header gives a remote parent', () => {
    const sc = parentOf(`00-${tid}-${sid}-01`);
    expect(sc).toEqual({ traceId: tid, spanId: sid, traceFlags: 1, isRemote: true });
  });
  it('missing, malformed or all-zero ids give no parent', () => {
    for (const h of [undefined, '', 'garbage', `00-${'0'.repeat(32)}-${sid}-01`, `00-${tid}-${'0'.repeat(16)}-01`]) {
      expect(parentOf(h)).toBeUndefined();
    }
  });
});
