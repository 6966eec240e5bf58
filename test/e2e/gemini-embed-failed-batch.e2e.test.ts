import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { eventually } from '../support/eventually';
import { fakeEmbedding } from '../support/fake-gemini';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const KEY = 'embed-batch-key-0123456789abcdef';
const MASTER = 'embed-batch-master-0123456789abcdef';
/** USD per million tokens: $0.001 an input token. */
const PRICE = { input: 1000 };

const embedder = (model: string) => ({ provider: 'gem', model, capabilities: ['embeddings'], price: PRICE });

/**
 * Found by an independent check (api32 D2): a Gemini /v1/embeddings request goes as batchEmbedContents calls of 100
 * inputs, 4 at a time. When one failed, the batches Google had answered (embedded, and billed) were dropped and the
 * key charged $0 (no spend, no TPM, no gateway_cost_usd_total), while the retry sent every batch again. Once they were
 * charged (api32), the retry still sent them, and Google embedded and billed them twice, and so did the key (embed33):
 * a retry on the same provider and model now sends only the batches not answered.
 */
describe('Gemini embeddings: the batches answered in an attempt that failed are charged to the key, and not sent again', () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const providers = await vendors.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers,
        models: [
          { name: 'gem', deployments: [embedder('gemini-embedding-001')] },
          // A 429 with a Retry-After moves the request on to the next deployment: of the same provider and model…
          { name: 'gem-pair', deployments: [embedder('gemini-embedding-001'), embedder('gemini-embedding-001')] },
          // … or of another model, whose vectors are not comparable.
          { name: 'gem-other', deployments: [embedder('gemini-embedding-001'), embedder('gemini-embed-other')] },
          // Answers one vector fewer than asked in every batch: no answer passes the gateway's check.
          { name: 'gem-short', deployments: [embedder('gemini-embed-short'), embedder('gemini-embed-short')] },
          // Answers 8 dimensions whatever `dimensions` asked (as embedding-001 ignores outputDimensionality).
          { name: 'gem-wide', deployments: [embedder('gemini-embed-wide')] },
        ],
        router: { retry: { attemptsPerDeployment: 2, backoffMs: 10, maxBackoffMs: 20 } },
        // A key of its own: its TPM window starts with this test's request and lasts a minute.
        security: { keys: [{ id: 'tenant', keyEnv: 'TENANT_KEY', tpm: 1_000_000, budget: { usd: 1000, period: 'daily' } }] },
      }),
      { env: { ...vendors.env, TENANT_KEY: KEY, GATEWAY_MASTER_KEY: MASTER } },
    );
    client = gateway.client({ apiKey: KEY });
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  const usage = async () => (await gateway.adminKeys(MASTER, 'GET', '/tenant/usage')).body;
  const spent = async () => ((await usage()).spendUsd.today._total as number | undefined) ?? 0;
  const costMetric = (model = 'gem') => gateway.metric('gateway_cost_usd_total', `provider="gem",model="${model}",key="tenant"`);
  /** The gateway's estimate of these inputs (a text of n characters: ceil(n / 4) tokens), as it bills Gemini's. */
  const estimate = (inputs: string[]) => inputs.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
  /** The inputs of each batch that went upstream since the fake had received `before` requests. */
  const batchesSince = (before: number) =>
    vendors.gemini.received
      .slice(before)
      .map((r) => (r.body.requests as { content: { parts: { text: string }[] } }[]).map((q) => q.content.parts[0].text));
  /** Sends `inputs` through the SDK, which gets `status`; the batches that went upstream and the request's access line. */
  const failing = async (inputs: string[], status: number) => {
    const before = vendors.gemini.received.length;
    const failed = await client.embeddings.create({ model: 'gem', input: inputs }).then(
      () => undefined,
      (e: { status?: number; headers?: Headers }) => e,
    );
    assert.equal(failed?.status, status);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === failed.headers!.get('x-request-id') });
    return { batches: batchesSince(before), line };
  };
  const usd = (tokens: number) => (tokens * PRICE.input) / 1e6;
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  /**
   * 500 inputs, each of its own length (so of its own vector), the 231st (in the third batch of five) `blip`: the fake
   * refuses that batch once.
   */
  const withBlip = (blip: string) => Array.from({ length: 500 }, (_, i) => (i === 230 ? blip : 'w'.repeat(i + 1)));
  /** Each batch's first input's place in `inputs`, in input order (the batches of one attempt are in flight together). */
  const starts = (batches: string[][], inputs: string[]) => batches.map((b) => inputs.indexOf(b[0])).sort((a, b) => a - b);
  /** Whether `vector` is `model`'s for `text`, as the gateway serves it (scaled to unit length, float32). */
  const isVectorOf = (vector: number[], model: string, text: string) => {
    const raw = fakeEmbedding(model, text, vector.length);
    const norm = Math.hypot(...raw);
    return raw.every((v, i) => Math.abs(v / norm - vector[i]) < 1e-6);
  };
  /**
   * Sends `inputs` (withBlip) to `group`: the answer, the batches that went upstream, the access line, and what the
   * first attempt was charged: its four batches in flight, the third refused, were answered, and so was the fifth when
   * the first one's answer came before that refusal (it started then) and not otherwise, so either is checked for.
   * The charges to spend, the cost metric and the TPM window are checked to be the access line's, failed attempt and
   * answer (the requests before have settled: the key's spend is read once the last one's was found).
   */
  const retried = async (group: string, inputs: string[]) => {
    const [spentBefore, costBefore, tpmBefore] = [await spent(), await costMetric(group), (await usage()).currentMinute.tokens as number];
    const before = vendors.gemini.received.length;
    const { data, response } = await client.embeddings.create({ model: group, input: inputs }).withResponse();
    const batches = batchesSince(before);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') });
    const [failed, answer] = [line.failedAttemptCostUsd as number, line.costUsd as number];
    const firstAnswered = [0, 100, 300].map((at) => estimate(inputs.slice(at, at + 100)));
    const fifth = estimate(inputs.slice(400));
    const fifthFirst = near(failed, usd(firstAnswered.reduce((sum, t) => sum + t) + fifth));
    assert.ok(fifthFirst || near(failed, usd(firstAnswered.reduce((sum, t) => sum + t))), JSON.stringify(line));
    const charged = failed + answer;
    assert.ok(
      await eventually(async () => near((await spent()) - spentBefore, charged)),
      `spent ${(await spent()) - spentBefore}, expected ${charged}`,
    );
    assert.ok(
      near((await costMetric(group)) - costBefore, charged),
      `gateway_cost_usd_total ${(await costMetric(group)) - costBefore}, expected ${charged}`,
    );
    const tokens = Math.round((charged * 1e6) / PRICE.input);
    assert.ok(
      await eventually(async () => (await usage()).currentMinute.tokens - tpmBefore === tokens),
      `TPM ${(await usage()).currentMinute.tokens - tpmBefore}, expected ${tokens}`,
    );
    const header = response.headers.get('x-gateway-cost-usd')!;
    assert.ok(header.endsWith('; estimated') && near(Number(header.split(';')[0]), answer), header);
    return { data, response, batches, line, fifthFirst };
  };

  it('the third of three batches fails (503) in both attempts: the two answered are charged once, to spend, TPM and the cost metric', async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => (i === 230 ? 'embed-error-UNAVAILABLE' : 'x'.repeat(i + 1)));
    const [spentBefore, costBefore] = [await spent(), await costMetric()];
    const { batches, line } = await failing(inputs, 503);
    // The first attempt: batches of 100, 100 and 50, all in flight at once (4 at a time), the last refused; the retry
    // sends that one only: the other two were answered, and their vectors kept for it.
    assert.deepEqual(starts(batches, inputs), [0, 100, 200, 200]);
    const answered = batches.filter((b) => !b.includes('embed-error-UNAVAILABLE'));
    const tokens = answered.reduce((sum, b) => sum + estimate(b), 0);
    assert.equal(tokens, estimate(inputs.slice(0, 200)));
    assert.ok(near(line.failedAttemptCostUsd as number, usd(tokens)), `access line ${JSON.stringify(line)}, expected ${usd(tokens)}`);
    assert.ok(
      await eventually(async () => near((await spent()) - spentBefore, usd(tokens))),
      `spent ${await spent()}, expected ${usd(tokens)}`,
    );
    assert.ok(near((await costMetric()) - costBefore, usd(tokens)), `gateway_cost_usd_total ${await costMetric()}`);
    // The TPM window counts the answered batches once the request settled.
    assert.ok(await eventually(async () => (await usage()).currentMinute.tokens === tokens), `TPM ${(await usage()).currentMinute.tokens}`);
  });

  it('a batch failing with a 400 (not retried): no batch starts after it, and those still running when it failed are charged', async () => {
    // 7 batches; the first is refused: the 3 sent with it run to their answers, the other 3 are never sent.
    const inputs = Array.from({ length: 700 }, (_, i) => (i === 5 ? 'embed-error-INVALID_ARGUMENT' : `text ${i}`));
    const { batches, line } = await failing(inputs, 400);
    assert.equal(batches.length, 4, 'the 4 in flight at once, no more');
    const tokens = batches.filter((b) => !b.includes('embed-error-INVALID_ARGUMENT')).reduce((sum, b) => sum + estimate(b), 0);
    assert.equal(tokens, estimate(inputs.slice(100, 400)));
    assert.ok(near(line.failedAttemptCostUsd as number, usd(tokens)), JSON.stringify(line));
    // The refusing attempt is listed (embed34 D3), as on the x-gateway-fallbacks header.
    assert.equal(line.fallbacks, 'gem/0=invalid_request_error');
  });

  it('the third of five batches refused once (503): the retry sends only the batches not answered, the answer has every vector in order, each batch charged once', async () => {
    const inputs = withBlip('embed-blip-UNAVAILABLE-retry');
    const { data, response, batches, line } = await retried('gem', inputs);
    assert.equal(response.headers.get('x-gateway-attempts'), '2');
    // Charged as the first attempt failed, and billed with the answer (the rest): each input once.
    assert.ok(near((line.failedAttemptCostUsd as number) + (line.costUsd as number), usd(estimate(inputs))), JSON.stringify(line));
    assert.ok(near(line.costUsd as number, usd(line.promptTokens as number)), JSON.stringify(line));
    // Every batch answered once, the third refused once before.
    assert.deepEqual(starts(batches, inputs), [0, 100, 200, 200, 300, 400]);
    assert.deepEqual(
      data.data.map((d) => d.index),
      inputs.map((_, i) => i),
    );
    const wrong = data.data.findIndex((d, i) => !isVectorOf(d.embedding, 'gemini-embedding-001', inputs[i]));
    assert.equal(wrong, -1, `vector ${wrong} is not its input's`);
    assert.equal(data.usage.prompt_tokens, estimate(inputs), "the answer's usage is the request's");
  });

  it('a fallback to another deployment of the same provider and model (after a 429) sends only the batches not answered', async () => {
    const inputs = withBlip('embed-blip-RESOURCE_EXHAUSTED-pair');
    const { data, response, batches, line } = await retried('gem-pair', inputs);
    assert.equal(response.headers.get('x-gateway-deployment'), 'gem-pair/1');
    assert.deepEqual(starts(batches, inputs), [0, 100, 200, 200, 300, 400]);
    const wrong = data.data.findIndex((d, i) => d.index !== i || !isVectorOf(d.embedding, 'gemini-embedding-001', inputs[i]));
    assert.equal(wrong, -1, `vector ${wrong} is not its input's`);
    assert.ok(near((line.failedAttemptCostUsd as number) + (line.costUsd as number), usd(estimate(inputs))), JSON.stringify(line));
  });

  it("a fallback to another upstream model sends every batch again: the answer is that model's vectors only", async () => {
    const inputs = withBlip('embed-blip-RESOURCE_EXHAUSTED-other');
    const { data, response, batches, line, fifthFirst } = await retried('gem-other', inputs);
    assert.equal(response.headers.get('x-gateway-deployment'), 'gem-other/1');
    assert.deepEqual(starts(batches, inputs), [0, 0, 100, 100, 200, 200, 300, 300, 400, ...(fifthFirst ? [400] : [])]);
    const wrong = data.data.findIndex((d, i) => d.index !== i || !isVectorOf(d.embedding, 'gemini-embed-other', inputs[i]));
    assert.equal(wrong, -1, `vector ${wrong} is not the second model's for its input`);
    // The first attempt's answered batches are charged, and the second model's answer in full: Google bills both.
    assert.ok(near(line.costUsd as number, usd(estimate(inputs))), JSON.stringify(line));
  });

  it('an answer that fails its check after a retry took kept batches: the next attempts send every batch again', async () => {
    const inputs = withBlip('embed-blip-UNAVAILABLE-short');
    const before = vendors.gemini.received.length;
    const failed = await client.embeddings.create({ model: 'gem-short', input: inputs }).then(
      () => undefined,
      (e: { status?: number }) => e,
    );
    assert.equal(failed?.status, 502);
    // The first attempt: the third batch refused, the others in flight answered (the fifth too when it started before
    // the refusal). The second: the rest, the answer put together and refused (a vector missing in each batch). The
    // third and fourth (the other deployment): every batch, nothing taken from the answer that failed its check.
    const places = starts(batchesSince(before), inputs);
    assert.equal(places.length, 16, `batches ${places.join(' ')}`);
    assert.deepEqual(
      [0, 100, 200, 300, 400].map((at) => places.filter((p) => p === at).length),
      [3, 3, 4, 3, 3],
    );
  });

  it('a request whose batches are all answered is billed as before, with nothing charged for a failed attempt', async () => {
    const inputs = Array.from({ length: 150 }, (_, i) => `ok ${i}`);
    const { data, response } = await client.embeddings.create({ model: 'gem', input: inputs }).withResponse();
    assert.equal(data.data.length, 150);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') });
    assert.equal(line.failedAttemptCostUsd, undefined);
    assert.ok(Math.abs((line.costUsd as number) - (estimate(inputs) * PRICE.input) / 1e6) < 1e-9, JSON.stringify(line));
  });

  // Found by an independent check (embed34 D1): an answer refused for its vectors' width was charged $0, though Google
  // answered (and bills) every batch of it, in each attempt, while a batch's 503 had the answered ones charged.
  it('an answer refused for its vectors (a model that ignores dimensions) is charged for the batches Google answered, each attempt', async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => `wide ${i}`);
    const [spentBefore, costBefore] = [await spent(), await costMetric('gem-wide')];
    const before = vendors.gemini.received.length;
    const failed = await client.embeddings.create({ model: 'gem-wide', input: inputs, dimensions: 4 }).then(
      () => undefined,
      (e: { status?: number; headers?: Headers }) => e,
    );
    assert.equal(failed?.status, 502);
    assert.deepEqual(starts(batchesSince(before), inputs), [0, 0, 100, 100, 200, 200], 'each attempt sends every batch');
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === failed.headers!.get('x-request-id') });
    const charged = usd(2 * estimate(inputs));
    assert.ok(near(line.failedAttemptCostUsd as number, charged), `access line ${JSON.stringify(line)}, expected ${charged}`);
    assert.ok(
      await eventually(async () => near((await spent()) - spentBefore, charged)),
      `spent ${(await spent()) - spentBefore}, expected ${charged}`,
    );
    assert.ok(near((await costMetric('gem-wide')) - costBefore, charged), `gateway_cost_usd_total ${await costMetric('gem-wide')}`);
  });
});
