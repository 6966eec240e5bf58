// `helm test`: the gateway answers /health and a chat completion on a model that needs
// no provider key. Runs with the gateway image's node; GATEWAY_URL and TEST_MODEL come
// from the test pod, GATEWAY_MASTER_KEY (when the Secret has one) authenticates.
(async () => {
  const base = process.env.GATEWAY_URL;
  const fail = (msg) => {
    console.error(`FAIL ${msg}`);
    process.exit(1);
  };
  const health = await fetch(`${base}/health`);
  if (health.status !== 200) fail(`/health answered ${health.status}`);
  console.log('ok /health');

  const headers = { 'content-type': 'application/json' };
  if (process.env.GATEWAY_MASTER_KEY) headers.authorization = `Bearer ${process.env.GATEWAY_MASTER_KEY}`;
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: process.env.TEST_MODEL, messages: [{ role: 'user', content: 'helm test' }] }),
  });
  const body = await res.json().catch(() => ({}));
  const content = body.choices?.[0]?.message?.content;
  if (res.status !== 200 || typeof content !== 'string' || !content) fail(`chat completion answered ${res.status}: ${JSON.stringify(body)}`);
  console.log(`ok chat completion on ${process.env.TEST_MODEL}`);
})().catch((err) => {
  console.error(`FAIL ${err.message}`);
  process.exit(1);
});
