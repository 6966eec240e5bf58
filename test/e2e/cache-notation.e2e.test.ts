import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { ask, embedderLoaded, settle } from '../support/cache';
import { configWith, GatewayProcess } from '../support/gateway';

const MODEL_DIR = process.env.MINILM_MODEL_DIR;

/**
 * Found by an independent check (recheck29b): the embedders read a raised exponent as a digit ("2⁵" as "25"),
 * barely see where a code symbol stands ("list[1:]" / "list[:1]") and not at all a factorial's "!", and the guard
 * passed each pair (similarity 0.87 to 1): a question was served another number's or another slice's answer.
 * Each embedder the gateway ships, as both embed alike.
 */
for (const embedder of ['use', 'minilm'] as const) {
  describe(`response cache (${embedder}): exponents, factorials and code symbols`, () => {
    let gateway: GatewayProcess;
    let client: OpenAI;

    before(async () => {
      gateway = await GatewayProcess.start(
        { ...configWith({}), cache: { enabled: true, semantic: { embedder, threshold: 0.85, embeddingTimeoutMs: 10_000 } } },
        // scripts/minilm-model.sh installs the model in .models/; MINILM_MODEL_DIR names another copy.
        { env: MODEL_DIR ? { MINILM_MODEL_DIR: MODEL_DIR } : {} },
      );
      client = gateway.client();
      await embedderLoaded(gateway);
    });
    after(() => gateway?.stop());

    /** `cached` asked and stored, then `asked`: its cache header. */
    const header = async (cached: string, asked: string) => {
      await ask(client, cached);
      await settle();
      return (await ask(client, asked)).cache;
    };

    it('serves no power, factorial or slice the answer of the digits or code written otherwise', async () => {
      for (const [cached, asked] of [
        ['Is 25 an even number?', 'Is 2⁵ an even number?'],
        ['How much is 23?', 'How much is 2³?'],
        ['What is 106 written out in words?', 'What is 10⁶ written out in words?'],
        ['Compute 10 divided by 8', 'Compute 10! divided by 8!'],
        ['How many digits does 20 have?', 'How many digits does 20! have?'],
        ['What is 5?', 'What is 5!?'],
        ['What does list[1:] return in Python?', 'What does list[:1] return in Python?'],
        ['What does s[::2] return in Python?', 'What does s[2::] return in Python?'],
        ['What does a?.b do in JavaScript?', 'What does a.b do in JavaScript?'],
      ])
        assert.equal(await header(cached, asked), 'miss', asked);
    });

    it('still serves the same power, factorial or code reworded', async () => {
      for (const [cached, asked] of [
        ['How much is 7³?', 'how much is 7³'],
        ['How many digits does 30! have?', 'how many digits does 30! have'],
        ['What does items[2:] return in Python?', 'what does items[2:] return in python'],
      ])
        assert.match((await header(cached, asked)) ?? '', /^hit-semantic/, asked);
    });
  });
}
