// A stand-in for `kubiya-control-plane-worker` (installed into a queue's venv by the test): reports what
// every local user could read on the command lines of the queue's processes, and what the engine lets
// through with and without the worker's key. STANDIN_SECRETS: strings no command line may show.
import fs from 'node:fs';

const secrets = JSON.parse(process.env.STANDIN_SECRETS ?? '[]');
const needle = Buffer.from(`HOME=${process.env.HOME}\0`);
const leaks = [];
for (const d of fs.readdirSync('/proc')) {
  // the supervisor is the CLI the test ran: its command line is what the user typed
  if (!/^\d+$/.test(d) || Number(d) === process.ppid) continue;
  try {
    if (!fs.readFileSync(`/proc/${d}/environ`).includes(needle)) continue;
    const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
    for (const s of secrets) if (cmdline.includes(s)) leaks.push(`pid ${d} shows ${s}`);
  } catch {
    /* gone, or not ours */
  }
}
const chat = async (key) =>
  (
    await fetch(`${process.env.OPENAI_BASE_URL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] }),
    })
  ).status;
const report = {
  leaks,
  apiKeyInEnv: process.env.KUBIYA_API_KEY === secrets[0],
  localKey: process.env.OPENAI_API_KEY,
  defaultModel: process.env.LITELLM_DEFAULT_MODEL,
  withoutKey: await chat(undefined),
  withKey: await chat(process.env.OPENAI_API_KEY),
};
console.log(`STANDIN ${JSON.stringify(report)}`);
