/**
 * Provider contract suite: the SAME cases run against every provider adapter, through a real
 * in-process engine (`startEngine()`) driven by the official `openai` client, against a fake upstream
 * that speaks the provider's own wire format.
 *
 * HOW A PROVIDER PLUGS IN (one file `test/contract/<provider>.contract.test.ts`):
 *
 *   import { runContractSuite } from './harness.js';
 *   runContractSuite({
 *     name: 'Bedrock',
 *     startFake: startBedrockUpstream,            // test/fakes/<provider>-upstream.ts
 *     deploymentParams: (url) => ({ model: 'bedrock/anthropic.claude-3', api_base: url, ... }),
 *     env: { AWS_ACCESS_KEY_ID: '...' },            // optional: the engine's environment
 *     expect: { plain, stream, tools, toolResult, imageDataUrl, imageHttpsUrl },
 *     unsupported: { image_https_url: 'Bedrock takes image bytes only' }, // optional: skipped, with why
 *   });
 *
 * The fake (`ContractFake`) records every request in `calls` and answers what the test `script()`ed
 * last, in the provider's documented format, as JSON or as a stream depending on what the adapter
 * asked for (`stream: true`, a `...-stream` path, ...):
 *   - `{type:'text', text, usage}`: an answer with that text; streamed in several deltas (split on spaces);
 *   - `{type:'tool_call', id, name, args, usage}`: one tool call (streamed in at least two argument pieces);
 *   - `{type:'error', error, message, retryAfter?}`: the provider's error answer for that class with
 *     `message` in it (auth 401, permission 403, not_found 404, rate_limit 429 with Retry-After,
 *     context_window and content_policy as the provider reports them, overloaded 503 or 529);
 *   - `{type:'hang'}`: accept and never answer (the harness checks the engine's 408).
 * The `expect` hooks assert (with vitest `expect`) what the fake received for each case: path,
 * auth headers, body shape. The inputs they check are the constants in `CONTRACT_INPUTS`.
 * Unknown-to-the-provider params are dropped (`drop_params: true`), as LiteLLM users usually run.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, startEngine } from '../../src/engine/index.js';
import type { RecordedCall } from '../fakes/fake-server.js';

export type { RecordedCall };

export type ErrorCase =
  | 'auth'
  | 'permission'
  | 'not_found'
  | 'rate_limit'
  | 'context_window'
  | 'content_policy'
  | 'overloaded';
export interface ScriptUsage {
  input: number;
  output: number;
  /** prompt tokens read from / written to the provider's cache (fakes that model prompt caching report them) */
  cacheRead?: number;
  cacheWrite?: number;
  /** of the cache writes, those kept an hour (Anthropic's 1-hour TTL) */
  cacheWrite1h?: number;
  /** Anthropic streams: message_delta's usage also carries the input counts, as null (its type allows it) */
  deltaNulls?: boolean;
}

/** What the fake answers next (in its own wire format). */
export type Script =
  | { type: 'text'; text: string; usage: ScriptUsage }
  | { type: 'tool_call'; id: string; name: string; args: Record<string, unknown>; usage: ScriptUsage }
  | { type: 'error'; error: ErrorCase; message: string; retryAfter?: string }
  | { type: 'hang' };

/** A fake upstream for the contract suite (listens on 127.0.0.1). */
export interface ContractFake {
  url: string;
  calls: RecordedCall[];
  script(s: Script): void;
  close(): Promise<void>;
}

export const CASES = [
  'plain',
  'stream',
  'tools',
  'stream_tools',
  'tool_result',
  'image_data_url',
  'image_https_url',
  'errors',
  'timeout',
] as const;
export type CaseName = (typeof CASES)[number];

/** One provider plugged into the suite. */
export interface ContractFixture {
  name: string;
  startFake(): Promise<ContractFake>;
  /** `litellm_params` of a deployment that sends to the fake at `url` */
  deploymentParams(url: string): Record<string, unknown>;
  /** the engine's environment (provider default keys / bases) */
  env?: Record<string, string>;
  /** assertions on the request the fake received for each case */
  expect: {
    plain(call: RecordedCall): void;
    stream(call: RecordedCall): void;
    tools(call: RecordedCall): void;
    toolResult(call: RecordedCall): void;
    imageDataUrl(call: RecordedCall): void;
    imageHttpsUrl(call: RecordedCall): void;
  };
  /** cases the provider cannot serve, with the reason (they are skipped) */
  unsupported?: Partial<Record<CaseName, string>>;
  /** error classes the provider has no way to report (skipped) */
  unsupportedErrors?: ErrorCase[];
}

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** The inputs every case sends; fixtures assert their translation. */
export const CONTRACT_INPUTS = {
  system: 'You are terse.',
  user: 'Say hello',
  temperature: 0.3,
  top_p: 0.9,
  max_tokens: 50,
  stop: ['END'],
  endUser: 'user-42',
  tool: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
  toolCallId: 'call_abc123',
  toolArgs: { city: 'Paris' },
  toolResult: '{"temp_c":21}',
  pngBase64: PNG_B64,
  dataUrl: `data:image/png;base64,${PNG_B64}`,
  httpsUrl: 'https://example.com/cat.png',
} as const;

const I = CONTRACT_INPUTS;
const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { ...I.tool, parameters: { ...I.tool.parameters } } },
];

/** What each error class must look like to an openai client. */
const ERROR_EXPECT: Record<ErrorCase, { status: number; code?: string }> = {
  auth: { status: 401 },
  permission: { status: 403 },
  not_found: { status: 404 },
  rate_limit: { status: 429 },
  context_window: { status: 400, code: 'context_length_exceeded' },
  content_policy: { status: 400, code: 'content_policy_violation' },
  overloaded: { status: 503 },
};

/** Register the whole suite for one provider (call at the top level of a test file). */
export function runContractSuite(fx: ContractFixture): void {
  let fake: ContractFake;
  let engine: EngineHandle;
  let client: OpenAI;
  const skip = (c: CaseName) => fx.unsupported?.[c];
  const caseIt = (c: CaseName, title: string, fn: () => Promise<void>) =>
    skip(c) ? it.skip(`${title} (unsupported: ${skip(c)})`, fn) : it(title, fn);

  describe(`${fx.name} provider contract`, () => {
    beforeAll(async () => {
      fake = await fx.startFake();
      const params = fx.deploymentParams(fake.url);
      const config = {
        model_list: [
          { model_name: 'contract', litellm_params: params },
          { model_name: 'contract-timeout', litellm_params: { ...params, timeout: 0.2 } }, // only the hang case uses it
        ],
        litellm_settings: { drop_params: true, num_retries: 0 },
        router_settings: { num_retries: 0 },
      };
      const env = fx.env ?? {};
      const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: `${fx.name}-contract` }, { env });
      const logs: string[] = [];
      const logger = createLogger({ level: 'warn', secrets: loaded.secretValues, write: (l) => logs.push(l) });
      engine = await startEngine({ loaded, port: 0, logger, env, drainTimeoutMs: 500 });
      expect(
        engine.table.groups.get('contract')?.deployments[0]?.adapter,
        `${fx.name} adapter not loaded: ${logs.join('\n')}`,
      ).toBeTruthy();
      client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 10_000 });
    });
    afterAll(async () => {
      await engine?.close();
      await fake?.close();
    });
    beforeEach(() => {
      fake.calls.length = 0;
    });

    const base = () => ({
      model: 'contract',
      messages: [
        { role: 'system' as const, content: I.system },
        { role: 'user' as const, content: I.user },
      ],
      temperature: I.temperature,
      top_p: I.top_p,
      max_tokens: I.max_tokens,
      stop: [...I.stop],
      user: I.endUser,
    });

    caseIt('plain', 'plain chat: text, finish_reason stop, usage; the request translated', async () => {
      fake.script({ type: 'text', text: `Hello from ${fx.name}`, usage: { input: 12, output: 5 } });
      const r = await client.chat.completions.create(base());
      expect(r.object).toBe('chat.completion');
      expect(r.choices[0].message.role).toBe('assistant');
      expect(r.choices[0].message.content).toBe(`Hello from ${fx.name}`);
      expect(r.choices[0].finish_reason).toBe('stop');
      expect(r.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
      expect(fake.calls).toHaveLength(1);
      fx.expect.plain(fake.calls[0]);
    });

    caseIt('stream', 'stream: deltas in order, finish_reason stop, a final usage chunk when asked', async () => {
      fake.script({ type: 'text', text: 'one two three four', usage: { input: 9, output: 4 } });
      const s = await client.chat.completions.create({
        ...base(),
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of s) chunks.push(c);
      const withChoice = chunks.filter((c) => c.choices.length > 0);
      expect(withChoice[0].choices[0].delta.role).toBe('assistant');
      expect(withChoice.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('one two three four');
      expect(withChoice.filter((c) => c.choices[0].delta.content).length).toBeGreaterThan(1);
      expect(withChoice.at(-1)?.choices[0].finish_reason).toBe('stop');
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
      fx.expect.stream(fake.calls[0]);
      // without include_usage the usage chunk is left out
      const s2 = await client.chat.completions.create({ ...base(), stream: true });
      const chunks2: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of s2) chunks2.push(c);
      expect(chunks2.every((c) => !c.usage)).toBe(true);
    });

    caseIt('tools', 'tools: tool_calls with JSON-string arguments, finish_reason tool_calls', async () => {
      fake.script({
        type: 'tool_call',
        id: 'toolu_01',
        name: I.tool.name,
        args: { ...I.toolArgs },
        usage: { input: 30, output: 10 },
      });
      const r = await client.chat.completions.create({ ...base(), tools: TOOLS, tool_choice: 'auto' });
      const tc = r.choices[0].message.tool_calls?.[0];
      expect(r.choices[0].finish_reason).toBe('tool_calls');
      expect(tc?.type).toBe('function');
      expect(typeof tc?.id).toBe('string');
      expect(tc && 'function' in tc ? tc.function.name : undefined).toBe(I.tool.name);
      expect(tc && 'function' in tc ? JSON.parse(tc.function.arguments) : undefined).toEqual(I.toolArgs);
      expect(r.usage?.total_tokens).toBe(40);
      fx.expect.tools(fake.calls[0]);
    });

    caseIt(
      'stream_tools',
      'stream tools: tool-call deltas assemble into the call, finish_reason tool_calls',
      async () => {
        fake.script({
          type: 'tool_call',
          id: 'toolu_02',
          name: I.tool.name,
          args: { ...I.toolArgs },
          usage: { input: 30, output: 10 },
        });
        const s = await client.chat.completions.create({
          ...base(),
          tools: TOOLS,
          stream: true,
          stream_options: { include_usage: true },
        });
        let name = '';
        let args = '';
        let id: string | undefined;
        let finish: string | null | undefined;
        let pieces = 0;
        let usage: OpenAI.CompletionUsage | undefined | null;
        for await (const c of s) {
          if (c.usage) usage = c.usage;
          const ch = c.choices[0];
          if (!ch) continue;
          for (const t of ch.delta.tool_calls ?? []) {
            expect(t.index).toBe(0);
            id ??= t.id;
            name += t.function?.name ?? '';
            if (t.function?.arguments) {
              args += t.function.arguments;
              pieces++;
            }
          }
          if (ch.finish_reason) finish = ch.finish_reason;
        }
        expect(typeof id).toBe('string');
        expect(name).toBe(I.tool.name);
        expect(JSON.parse(args)).toEqual(I.toolArgs);
        expect(pieces).toBeGreaterThanOrEqual(1);
        expect(finish).toBe('tool_calls');
        expect(usage?.total_tokens).toBe(40);
      },
    );

    caseIt(
      'tool_result',
      'tool-result round trip: assistant tool_calls + tool message reach the provider in its format',
      async () => {
        fake.script({ type: 'text', text: 'It is 21 C in Paris.', usage: { input: 40, output: 8 } });
        const r = await client.chat.completions.create({
          model: 'contract',
          tools: TOOLS,
          messages: [
            { role: 'system', content: I.system },
            { role: 'user', content: 'Weather in Paris?' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: I.toolCallId,
                  type: 'function',
                  function: { name: I.tool.name, arguments: JSON.stringify(I.toolArgs) },
                },
              ],
            },
            { role: 'tool', tool_call_id: I.toolCallId, content: I.toolResult },
          ],
        });
        expect(r.choices[0].message.content).toBe('It is 21 C in Paris.');
        fx.expect.toolResult(fake.calls[0]);
      },
    );

    caseIt('image_data_url', 'image input as a base64 data URL', async () => {
      fake.script({ type: 'text', text: 'A pixel.', usage: { input: 20, output: 3 } });
      const r = await client.chat.completions.create({
        model: 'contract',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: I.dataUrl } },
            ],
          },
        ],
      });
      expect(r.choices[0].message.content).toBe('A pixel.');
      fx.expect.imageDataUrl(fake.calls[0]);
    });

    caseIt('image_https_url', 'image input as an https URL', async () => {
      fake.script({ type: 'text', text: 'A cat.', usage: { input: 20, output: 3 } });
      const r = await client.chat.completions.create({
        model: 'contract',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: I.httpsUrl } },
            ],
          },
        ],
      });
      expect(r.choices[0].message.content).toBe('A cat.');
      fx.expect.imageHttpsUrl(fake.calls[0]);
    });

    for (const ec of Object.keys(ERROR_EXPECT) as ErrorCase[]) {
      const why = skip('errors') ?? (fx.unsupportedErrors?.includes(ec) ? `${fx.name} has no such error` : undefined);
      const want = ERROR_EXPECT[ec];
      (why ? it.skip : it)(
        `error ${ec}: HTTP ${want.status}${want.code ? ` ${want.code}` : ''}, the provider's message kept`,
        async () => {
          const message = `fake ${ec} message ${Math.random().toString(36).slice(2, 8)}`;
          fake.script({ type: 'error', error: ec, message, retryAfter: ec === 'rate_limit' ? '7' : undefined });
          const err = await client.chat.completions.create(base()).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(OpenAI.APIError);
          const e = err as InstanceType<typeof OpenAI.APIError>;
          expect(e.status).toBe(want.status);
          if (want.code) expect(e.code).toBe(want.code);
          expect(e.message).toContain(message);
          if (ec === 'rate_limit') expect(e.headers?.get('retry-after')).toBe('7');
          // the same class through a stream request (errors before the first byte)
          const err2 = await client.chat.completions.create({ ...base(), stream: true }).then(
            () => undefined,
            (x: unknown) => x,
          );
          expect((err2 as InstanceType<typeof OpenAI.APIError>).status).toBe(want.status);
        },
      );
    }

    caseIt('timeout', 'an upstream that never answers: 408 after the deployment timeout', async () => {
      fake.script({ type: 'hang' });
      const err = await client.chat.completions.create({ ...base(), model: 'contract-timeout' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(408);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('timeout');
    });
  });
}
