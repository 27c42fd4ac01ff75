// The README quick start's worker: plain OpenAI SDK code with no proxy settings of its own. The
// supervisor injects OPENAI_BASE_URL / OPENAI_API_KEY (and KUBIYA_MODEL_OVERRIDE with --model), so
// every call goes through the local proxy.
//
//   npm ci && node bin/kubiya.js worker start --queue-id demo --enable-local-proxy \
//     --proxy-config-file templates/mock.yaml -- node templates/demo-worker.mjs
import OpenAI from 'openai';

const client = new OpenAI(); // reads OPENAI_BASE_URL and OPENAI_API_KEY
const model = process.env.KUBIYA_MODEL_OVERRIDE || 'mock';
console.log(`calling ${model} through ${process.env.OPENAI_BASE_URL}`);

const reply = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});
console.log(`answer: ${reply.choices[0].message.content}`);

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Now stream it.' }],
  stream: true,
});
let streamed = '';
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
console.log(`streamed answer: ${streamed}`);
