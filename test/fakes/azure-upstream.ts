/**
 * A fake Azure OpenAI resource for the contract suite: only answers
 * `POST /openai/deployments/<deployment>/chat/completions?api-version=<v>` with the `api-key` header,
 * in OpenAI's format with Azure's extras (a first stream chunk holding only `prompt_filter_results`,
 * `content_filter_results` on choices), and errors the way Azure words them (`DeploymentNotFound`,
 * `content_filter` + `ResponsibleAIPolicyViolation`, `context_length_exceeded`, 429 with Retry-After).
 */
import type http from 'node:http';
import type { ContractFake, ErrorCase, RecordedCall, Script } from '../contract/harness.js';
import { halves, pieces, sendJson, sendSse, startScriptedFake } from './fake-server.js';

export const AZURE_FAKE_KEY = 'azure-fake-key-abcdef0123';
export const AZURE_FAKE_DEPLOYMENT = 'gpt4o-prod';
export const AZURE_FAKE_VERSION = '2024-10-21';
export const AZURE_FAKE_AD_TOKEN = 'eyJfake.ad.token';

const FILTER_OK = { hate: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };

const ERRORS: Record<ErrorCase, [number, (m: string) => unknown]> = {
  auth: [
    401,
    (m) => ({
      error: { code: '401', message: `Access denied due to invalid subscription key or wrong API endpoint. (${m})` },
    }),
  ],
  permission: [
    403,
    (m) => ({
      error: { code: 'PermissionDenied', message: `Principal does not have access to API/Operation. (${m})` },
    }),
  ],
  not_found: [
    404,
    (m) => ({
      error: { code: 'DeploymentNotFound', message: `The API deployment for this resource does not exist. (${m})` },
    }),
  ],
  rate_limit: [
    429,
    (m) => ({
      error: {
        code: '429',
        message:
          'Requests to the ChatCompletions_Create Operation have exceeded token rate limit. ' +
          `Please retry after 7 seconds. (${m})`,
      },
    }),
  ],
  context_window: [
    400,
    (m) => ({
      error: {
        message:
          "This model's maximum context length is 128000 tokens. " +
          `However, your messages resulted in 130512 tokens. (${m})`,
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    }),
  ],
  content_policy: [
    400,
    (m) => ({
      error: {
        message:
          'The response was filtered due to the prompt triggering ' +
          `Azure OpenAI's content management policy. (${m})`,
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: { ...FILTER_OK, self_harm: { filtered: true, severity: 'high' } },
        },
      },
    }),
  ],
  overloaded: [
    503,
    (m) => ({
      error: {
        code: 'ServiceUnavailable',
        message: `The service is temporarily unable to process your request. (${m})`,
      },
    }),
  ],
};

function answer(call: RecordedCall, s: Script, res: http.ServerResponse): Promise<void> | void {
  const url = new URL(call.path, 'http://fake');
  if (call.method !== 'POST' || url.pathname !== `/openai/deployments/${AZURE_FAKE_DEPLOYMENT}/chat/completions`) {
    return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
  }
  if (url.searchParams.get('api-version') !== AZURE_FAKE_VERSION)
    return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
  if (call.headers['api-key'] !== AZURE_FAKE_KEY && call.headers.authorization !== `Bearer ${AZURE_FAKE_AD_TOKEN}`)
    return sendJson(res, 401, {
      error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' },
    });
  if (s.type === 'error') {
    const [status, body] = ERRORS[s.error];
    return sendJson(res, status, body(s.message), s.retryAfter ? { 'retry-after': s.retryAfter } : {});
  }
  if (s.type === 'hang') return;
  const created = 1732245000;
  const model = 'gpt-4o-2024-08-06';
  const usage = {
    prompt_tokens: s.usage.input,
    completion_tokens: s.usage.output,
    total_tokens: s.usage.input + s.usage.output,
  };
  const isTool = s.type === 'tool_call';
  if (!call.body.stream) {
    const message = isTool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: s.id, type: 'function', function: { name: s.name, arguments: JSON.stringify(s.args) } }],
        }
      : { role: 'assistant', content: s.text };
    return sendJson(res, 200, {
      id: 'chatcmpl-az1',
      object: 'chat.completion',
      created,
      model,
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_OK }],
      choices: [
        {
          index: 0,
          message,
          finish_reason: isTool ? 'tool_calls' : 'stop',
          logprobs: null,
          content_filter_results: FILTER_OK,
        },
      ],
      usage,
    });
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({
    id: 'chatcmpl-az2',
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, content_filter_results: {} }],
  });
  const ev: [undefined, unknown][] = [
    [
      undefined,
      {
        id: '',
        object: '',
        created: 0,
        model: '',
        choices: [],
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_OK }],
      },
    ],
  ];
  ev.push([undefined, chunk({ role: 'assistant', content: '' })]);
  if (isTool) {
    ev.push([
      undefined,
      chunk({ tool_calls: [{ index: 0, id: s.id, type: 'function', function: { name: s.name, arguments: '' } }] }),
    ]);
    for (const p of halves(JSON.stringify(s.args)))
      ev.push([undefined, chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] })]);
  } else for (const p of pieces(s.text)) ev.push([undefined, chunk({ content: p })]);
  ev.push([undefined, chunk({}, isTool ? 'tool_calls' : 'stop')]);
  if (call.body.stream_options?.include_usage)
    ev.push([undefined, { id: 'chatcmpl-az2', object: 'chat.completion.chunk', created, model, choices: [], usage }]);
  return sendSse(res, ev, 'data: [DONE]\n\n');
}

/** Start the fake Azure OpenAI resource on 127.0.0.1. */
export function startAzureUpstream(): Promise<ContractFake> {
  return startScriptedFake(answer);
}
