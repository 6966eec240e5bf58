/**
 * Builds the CLINC150 part of the cache evaluation set (test/data/cache-eval-clinc.tsv) from
 * data_full.json of CLINC150 (CC BY 3.0; see test/data/README.md). Run once; the output is committed.
 *   node dist/bench/cache-eval-clinc.js path/to/data_full.json > test/data/cache-eval-clinc.tsv
 * Paraphrases: two utterances of one intent whose answer needs no slot ("what's your name" /
 * "what should I call you"). Hard negatives: for an utterance, the most similar utterance (offline
 * embedder) of another intent of the same domain ("how many vacation days do I have left" /
 * "how many vacation days have I used"). Seeded: the same input gives the same pairs.
 */
import { readFileSync } from 'node:fs';
import { LocalUseEmbedder } from '../libs/cache/src/embedders/worker-embedder';
import { dot } from '../libs/cache/src/vector';
import { random as seeded } from '../test/support/vectors';

/** Intents whose answer does not depend on a slot (a card, a city, a date) nor on the previous turn. */
const SLOT_FREE = `who_made_you meaning_of_life who_do_you_work_for do_you_have_pets what_are_your_hobbies fun_fact
  what_is_your_name where_are_you_from goodbye thank_you greeting tell_joke are_you_a_bot how_old_are_you what_can_i_ask_you
  user_name reset_settings sync_device whisper_mode flip_coin find_phone current_location oil_change_how jump_start
  tire_change payday pto_balance pto_used w2 direct_deposit rollover_401k next_holiday credit_score improve_credit_score`.split(/\s+/);
/** Answers that depend on the conversation before them: no pair either way. */
const CONTEXTUAL = new Set(['yes', 'no', 'maybe', 'repeat', 'cancel']);
const PARAPHRASES_PER_INTENT = 20;
const NEGATIVES_PER_INTENT = 4;

async function main(): Promise<void> {
  const data = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Record<string, [string, string][]>;
  const domains = JSON.parse(readFileSync(process.argv[2].replace('data_full.json', 'domains.json'), 'utf8')) as Record<string, string[]>;
  const byIntent = new Map<string, string[]>();
  for (const split of ['train', 'val', 'test']) {
    for (const [text, intent] of data[split]) {
      if (!byIntent.has(intent)) byIntent.set(intent, []);
      const list = byIntent.get(intent)!;
      if (!list.includes(text)) list.push(text);
    }
  }
  const random = seeded(20261201);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const lines: string[] = [];

  for (const intent of SLOT_FREE) {
    const texts = byIntent.get(intent)!;
    const seen = new Set<string>();
    while (seen.size < PARAPHRASES_PER_INTENT) {
      const a = pick(texts);
      const b = pick(texts);
      const key = [a, b].sort().join('\t');
      if (a === b || seen.has(key)) continue;
      seen.add(key);
      lines.push(`paraphrase\tclinc:${intent}\t${a}\t${b}`);
    }
  }

  const embedder = new LocalUseEmbedder();
  await embedder.loaded;
  const vectors = new Map<string, Float32Array>();
  const all = [...byIntent.values()].flat();
  // Concurrent calls are batched by the embedder.
  for (let i = 0; i < all.length; i += 256) {
    const chunk = all.slice(i, i + 256);
    (await Promise.all(chunk.map((t) => embedder.embed(t)))).forEach((v, j) => vectors.set(chunk[j], v));
  }
  for (const intents of Object.values(domains)) {
    for (const intent of intents) {
      if (CONTEXTUAL.has(intent)) continue;
      const others = intents.filter((i) => i !== intent && !CONTEXTUAL.has(i)).flatMap((i) => byIntent.get(i)!.map((t) => [i, t]));
      const used = new Set<string>();
      for (let n = 0; n < NEGATIVES_PER_INTENT; n++) {
        const a = pick(byIntent.get(intent)!);
        let best: [string, string] | undefined;
        let bestScore = -1;
        for (const [other, text] of others) {
          const score = dot(vectors.get(a)!, vectors.get(text)!);
          if (score > bestScore && !used.has(text)) [best, bestScore] = [[other, text], score];
        }
        used.add(best![1]);
        lines.push(`intent\tclinc:${intent}/${best![0]}\t${a}\t${best![1]}`);
      }
    }
  }
  await embedder.close();
  console.log(lines.join('\n'));
}

void main();
