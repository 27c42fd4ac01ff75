// A long-running worker that watches what its proxy serves: every 250 ms it lists the models
// (GET /v1/models with its key) and prints "models pid=<pid> base=<base> <names>" when the list
// changes; once a model named m2 appears it asks it once and prints "answer m2 pid=<pid>: <text>".
// Prints "got SIGTERM" and exits 0 on SIGTERM.
const base = process.env.OPENAI_BASE_URL;
const auth = { authorization: `Bearer ${process.env.OPENAI_API_KEY}` };
let last = '';
let asked = false;
const tick = async () => {
  try {
    const r = await fetch(`${base}/models`, { headers: auth });
    const names = (await r.json()).data
      .map((m) => m.id)
      .sort()
      .join(',');
    if (names !== last) console.log(`models pid=${process.pid} base=${base} ${(last = names)}`);
    if (!asked && names.split(',').includes('m2')) {
      asked = true;
      const c = await fetch(`${base}/chat/completions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm2', messages: [{ role: 'user', content: 'hi' }] }),
      });
      console.log(`answer m2 pid=${process.pid}: ${(await c.json()).choices[0].message.content}`);
    }
  } catch (e) {
    console.log(`call failed ${e.message}`);
  }
};
const timer = setInterval(tick, 250);
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  clearInterval(timer);
  process.exit(0);
});
