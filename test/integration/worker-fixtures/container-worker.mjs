// What a worker in a container does with the environment `worker start --type docker` gives it: one chat
// call to LITELLM_API_BASE with LITELLM_API_KEY (plain fetch), a line on stdout and one on stderr (the
// multiplexed stream carries both), the variables it got, then exit with the code in argv[2] (default 0).
const base = process.env.LITELLM_API_BASE;
const r = await fetch(`${base}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${process.env.LITELLM_API_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] }),
});
const body = await r.json();
console.log(`chat ${r.status}: ${body.choices?.[0]?.message?.content ?? JSON.stringify(body)}`);
console.error('a line on stderr');
console.log(`seen-base: ${base}`);
console.log(`has-home: ${'HOME' in process.env}`);
process.exit(Number(process.argv[2] ?? 0));
