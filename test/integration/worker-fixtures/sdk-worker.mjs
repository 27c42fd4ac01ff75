// A worker that uses the official openai SDK exactly as unmodified user code would: it reads
// OPENAI_BASE_URL / OPENAI_API_KEY from the environment the supervisor injected.
import OpenAI from 'openai';

const client = new OpenAI();
const model = process.env.KUBIYA_MODEL_OVERRIDE ?? 'mock';
const chat = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
console.log(`chat: ${chat.choices[0].message.content}`);
const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'hi' }],
  stream: true,
});
let text = '';
for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
console.log(`stream: ${text.trim()}`);
const keys = [
  'LITELLM_API_BASE',
  'OPENAI_BASE_URL',
  'OPENAI_API_BASE',
  'ANTHROPIC_BASE_URL',
  'QUEUE_ID',
  'CONTROL_PLANE_URL',
  'KUBIYA_MODEL_OVERRIDE',
];
console.log(`env: ${JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]])))}`);
const keysSet = ['LITELLM_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'].every(
  (k) => process.env[k] === process.env.OPENAI_API_KEY && !!process.env[k],
);
console.log(`keys-set: ${keysSet}`);
process.exit(Number(process.env.DEMO_EXIT_CODE ?? 0));
