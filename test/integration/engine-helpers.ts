import OpenAI from 'openai';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import {
  createLogger,
  type EngineHandle,
  type SettledEvent,
  type StartEngineOptions,
  startEngine,
} from '../../src/engine/index.js';

export interface TestEngine extends EngineHandle {
  /** the official openai client, pointed at the engine with the given key */
  openai: OpenAI;
  /** every log line the engine wrote */
  logs: string[];
}

/** Start an engine in-process on a free port for a config object; logs are captured, not printed. */
export async function startTestEngine(
  config: Record<string, unknown>,
  opts: {
    env?: NodeJS.ProcessEnv;
    apiKey?: string;
    debug?: boolean;
    drainTimeoutMs?: number;
    /** the governance store (with a master key); default: a throwaway in-memory SQLite */
    governance?: StartEngineOptions['governance'];
    now?: () => number;
  } = {},
): Promise<TestEngine> {
  const env = opts.env ?? {};
  const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'test-config' }, { env });
  const logs: string[] = [];
  const logger = createLogger({
    level: opts.debug ? 'debug' : 'info',
    secrets: loaded.secretValues,
    write: (l) => logs.push(l),
  });
  const engine = await startEngine({
    loaded,
    port: 0,
    logger,
    env,
    debug: opts.debug,
    drainTimeoutMs: opts.drainTimeoutMs ?? 2000,
    governance: opts.governance ?? { path: ':memory:' },
    now: opts.now,
  });
  const openai = new OpenAI({
    baseURL: `${engine.url}/v1`,
    apiKey: opts.apiKey ?? 'none',
    maxRetries: 0,
    timeout: 10_000,
  });
  return Object.assign(engine, { openai, logs });
}

/** POST JSON with fetch and return status, headers and parsed body (or text). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/**
 * Record an engine's settled events; `eventOf(callId)` waits (up to 5 s) for that request's event and
 * throws unless there is exactly one.
 */
export function recordSettled(engine: EngineHandle): {
  events: SettledEvent[];
  eventOf(callId: string | null): Promise<SettledEvent>;
} {
  const events: SettledEvent[] = [];
  engine.onSettled((e) => {
    events.push(e);
  });
  const eventOf = async (callId: string | null) => {
    const t0 = Date.now();
    while (!events.some((e) => e.callId === callId) && Date.now() - t0 < 5000)
      await new Promise((r) => setTimeout(r, 10));
    const list = events.filter((e) => e.callId === callId);
    if (list.length !== 1) throw new Error(`${list.length} settled events for call id ${callId}`);
    return list[0];
  };
  return { events, eventOf };
}
