/**
 * A fake Ollama server (native API: /api/chat, /api/generate, /api/embed, /api/tags) speaking
 * JSON and NDJSON streams, with fault injection. Chat echoes the last user message.
 */
import type http from 'node:http';
import { sendJson as json, startFake } from './fake-server.js';

export type OllamaFault =
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'cut-stream'; after: number }
  | { kind: 'broken-stream' }
  | { kind: 'error-line' }
  | { kind: 'hang' };

export interface FakeOllama {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  setFault(f: OllamaFault | undefined): void;
  openSockets(): number;
  close(): Promise<void>;
}

export async function startOllamaUpstream(): Promise<FakeOllama> {
  let fault: OllamaFault | undefined;
  const requests: FakeOllama['requests'] = [];
  const fake = await startFake((call, res, req) => {
    const body = (call.body ?? {}) as Record<string, unknown>;
    requests.push({ path: call.path, body });
    answer(call.path, body, req, res);
  });

  function answer(path: string, body: Record<string, unknown>, req: http.IncomingMessage, res: http.ServerResponse) {
    const f = fault;
    if (f?.kind === 'hang') return;
    if (f?.kind === 'status') {
      res.writeHead(f.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(f.body ?? { error: `fake ollama error ${f.status}` }));
      return;
    }
    const created_at = new Date().toISOString();
    if (path === '/api/tags') return json(res, 200, { models: [{ name: 'llama3:latest' }] });
    if (path === '/api/embed') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return json(res, 200, {
        model: body.model,
        embeddings: inputs.map((_, i) => [0.5, -0.5, i]),
        prompt_eval_count: 4,
      });
    }
    const chat = path === '/api/chat';
    if (!chat && path !== '/api/generate') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `404 page not found` }));
      return;
    }
    const msgs = (body.messages ?? []) as { role: string; content: string }[];
    const text = chat
      ? `ollama says: ${msgs.filter((m) => m.role === 'user').pop()?.content ?? ''}`
      : `generated: ${String(body.prompt)}`;
    const tools =
      Array.isArray(body.tools) && body.tools.length > 0 ? (body.tools as { function: { name: string } }[]) : undefined;
    const toolCalls = tools
      ? [{ function: { name: tools[0].function.name, arguments: { city: 'Paris' } } }]
      : undefined;
    const final = {
      model: body.model,
      created_at,
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 12,
      eval_count: 6,
      total_duration: 1000,
    };
    if (body.stream === false) {
      if (chat)
        return json(res, 200, {
          ...final,
          message: { role: 'assistant', content: toolCalls ? '' : text, tool_calls: toolCalls },
        });
      return json(res, 200, { ...final, response: text });
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const lines: unknown[] = [];
    if (toolCalls && chat)
      lines.push({
        model: body.model,
        created_at,
        message: { role: 'assistant', content: '', tool_calls: toolCalls },
        done: false,
      });
    else
      for (const w of text.split(' '))
        lines.push(
          chat
            ? { model: body.model, created_at, message: { role: 'assistant', content: `${w} ` }, done: false }
            : { model: body.model, created_at, response: `${w} `, done: false },
        );
    lines.push(chat ? { ...final, message: { role: 'assistant', content: '' } } : { ...final, response: '' });
    let sent = 0;
    for (const l of lines) {
      if (f?.kind === 'cut-stream' && sent === f.after) {
        req.socket.destroy();
        return;
      }
      if (f?.kind === 'broken-stream' && sent === 1) {
        res.end('{"model": oops\n');
        return;
      }
      if (f?.kind === 'error-line' && sent === 1) {
        res.end(`${JSON.stringify({ error: 'model ran out of memory' })}\n`);
        return;
      }
      // split each line across two writes to exercise the incremental parser
      const s = `${JSON.stringify(l)}\n`;
      res.write(s.slice(0, 7));
      res.write(s.slice(7));
      sent++;
    }
    res.end();
  }

  return {
    ...fake,
    requests,
    setFault: (f) => {
      fault = f;
    },
  };
}
