import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ask, embedderLoaded, settle } from '../support/cache';
import { configWith, GatewayProcess } from '../support/gateway';

/** Each pair: the prompt stored, the prompt asked after it, whether it may be served the stored answer. */
const PAIRS: [string, string, boolean][] = [
  // Found by an independent check (hit33, D2, D4, D8), 0.88 to 0.99 on both embedders, passed by the guard.
  ['What eats a snake?', 'What does a snake eat?', false],
  ['Did Brutus kill Caesar?', 'Was Brutus killed by Caesar?', false],
  ['Is every square a rectangle?', 'Is every rectangle a square?', false],
  ['How much caffeine is in chocolate milk?', 'How much caffeine is in milk chocolate?', false],
  ['Who coached the Lakers?', 'Who coaches the Lakers?', false],
  // The same roles in the passive (refused before, as a swap), and a list in the other order.
  ['Did Brutus kill Caesar?', 'Was Caesar killed by Brutus?', true],
  ['Should I use tabs or spaces?', 'Should I use spaces or tabs?', true],
];

/**
 * A question with the roles traded or another verb tense is not served the other's answer, through the gateway
 * on each offline embedder, each pair in its own conversation (a system prompt of its own).
 */
for (const embedder of ['use', 'minilm'] as const) {
  it(`response cache (${embedder}): roles traded and another verb tense are not served`, async () => {
    const gateway = await GatewayProcess.start(
      { ...configWith({}), cache: { enabled: true, semantic: { embedder, threshold: 0.85, embeddingTimeoutMs: 10_000 } } },
      // scripts/minilm-model.sh installs the model in .models/; MINILM_MODEL_DIR names another copy.
      { env: process.env.MINILM_MODEL_DIR ? { MINILM_MODEL_DIR: process.env.MINILM_MODEL_DIR } : {} },
    );
    try {
      await embedderLoaded(gateway);
      const client = gateway.client();
      for (const [cached, asked, served] of PAIRS) {
        const system = { role: 'system' as const, content: `Conversation: ${cached}` };
        await ask(client, [system, { role: 'user', content: cached }]);
        await settle();
        const header = (await ask(client, [system, { role: 'user', content: asked }])).cache ?? '';
        assert.equal(header.startsWith('hit-semantic'), served, `${asked}: ${header}`);
      }
    } finally {
      await gateway.stop();
    }
  });
}
