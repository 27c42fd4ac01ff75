#!/usr/bin/env node
// A stand-in for `kubiya proxy start` that honours the engine-child contract: binds 127.0.0.1 on
// --port (0 = any), writes {pid,host,port,url} atomically to --port-file, exits 98 when the port
// is taken, drains and exits 0 on SIGTERM, answers /health/readiness and OpenAI chat calls.
import fs from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(opt('--port') ?? 0);
const portFile = opt('--port-file');

function chat(body, res) {
  const answer = `fake answer from ${process.pid}`;
  if (body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const w of answer.split(' ')) {
      res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta: { content: `${w} ` }, finish_reason: null }] })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (d) => (raw += d));
  req.on('end', () => {
    if (req.url === '/health/readiness') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"status":"ready"}');
    }
    if (req.url === '/v1/chat/completions') return chat(JSON.parse(raw || '{}'), res);
    res.writeHead(404).end();
  });
});
server.on('error', (e) => {
  process.stderr.write(`fake engine: ${e.message}\n`);
  process.exit(e.code === 'EADDRINUSE' ? 98 : 1);
});
server.listen(port, '127.0.0.1', () => {
  const p = server.address().port;
  const info = { pid: process.pid, host: '127.0.0.1', port: p, url: `http://127.0.0.1:${p}` };
  if (portFile) {
    fs.writeFileSync(`${portFile}.tmp`, JSON.stringify(info));
    fs.renameSync(`${portFile}.tmp`, portFile);
  }
  process.stdout.write(`fake engine listening on ${info.url}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
