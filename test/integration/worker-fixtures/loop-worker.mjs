// A long-running worker: one chat call through the proxy every 200 ms, logged as "call ok <text>"
// or "call failed"; logs "got SIGTERM" and exits 0 on SIGTERM. With CRASH_AFTER_MS it exits 3.
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0, timeout: 2000 });
let n = 0;
const timer = setInterval(async () => {
  n += 1;
  try {
    const r = await client.chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: `call ${n}` }],
    });
    console.log(`call ok ${n} ${r.choices[0].message.content}`);
  } catch (e) {
    console.log(`call failed ${n} ${e.message}`);
  }
  if (process.env.PAD_LOG) console.log('x'.repeat(200));
}, 200);
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  clearInterval(timer);
  process.exit(0);
});
if (process.env.CRASH_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.CRASH_AFTER_MS));
