/**
 * Hit rate and false-hit rate of the semantic cache per similarity threshold, with
 * and without the guard, on the labelled pairs of test/data/cache-pairs.tsv, with the
 * offline embedder (USE lite). Prompt a is cached; prompt b asks. A paraphrase served
 * is a hit; a hard negative served is a false hit.
 * cache-pairs-holdout.tsv was written after the guard was frozen.
 *   node dist/bench/cache-guard.js
 */
import { LocalUseEmbedder } from '../libs/cache/src/embedders/local-use.embedder';
import { guard, promptFacts } from '../libs/cache/src/guard';
import { dot } from '../libs/cache/src/vector';
import { loadPromptPairs, type PromptPair } from '../test/support/cache-pairs';

const THRESHOLDS = [0.6, 0.7, 0.75, 0.8, 0.82, 0.85, 0.88, 0.9, 0.92, 0.95];

async function main(): Promise<void> {
  const embedder = new LocalUseEmbedder();
  await embedder.loaded;
  for (const file of ['cache-pairs.tsv', 'cache-pairs-holdout.tsv']) {
    console.log(`\n## ${file}\n`);
    await report(loadPromptPairs(file), embedder);
  }
  await embedder.close();
}

async function report(pairs: PromptPair[], embedder: LocalUseEmbedder): Promise<void> {
  const texts = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const vectors = new Map(await Promise.all(texts.map(async (t) => [t, await embedder.embed(t)] as const)));

  const scored = pairs.map((p) => ({
    ...p,
    similarity: dot(vectors.get(p.a)!, vectors.get(p.b)!),
    refused: guard(promptFacts(p.b), promptFacts(p.a)),
  }));
  const positives = scored.filter((p) => p.kind === 'paraphrase');
  const negatives = scored.filter((p) => p.kind !== 'paraphrase');
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;

  console.log(`${pairs.length} pairs: ${positives.length} paraphrases, ${negatives.length} hard negatives (embedder ${embedder.id})\n`);
  console.log('| threshold | hit rate, no guard | false hits, no guard | hit rate, guard | false hits, guard |');
  console.log('|---|---|---|---|---|');
  for (const t of THRESHOLDS) {
    const hits = positives.filter((p) => p.similarity >= t);
    const false_ = negatives.filter((p) => p.similarity >= t);
    console.log(
      `| ${t.toFixed(2)} | ${pct(hits.length, positives.length)} | ${pct(false_.length, negatives.length)} | ` +
        `${pct(hits.filter((p) => !p.refused).length, positives.length)} | ${pct(false_.filter((p) => !p.refused).length, negatives.length)} |`,
    );
  }

  console.log('\nFalse hits by kind of negative (no guard / guard), and paraphrases refused by the guard, by reason:');
  for (const kind of ['number', 'unit', 'negation', 'entity', 'key-term']) {
    const group = negatives.filter((p) => p.kind === kind);
    const at = (t: number) =>
      `${group.filter((p) => p.similarity >= t).length}/${group.filter((p) => p.similarity >= t && !p.refused).length}`;
    console.log(`  ${kind.padEnd(9)} n=${group.length}  ${THRESHOLDS.map((t) => `@${t}: ${at(t)}`).join('  ')}`);
  }
  const reasons = new Map<string, number>();
  for (const p of positives) if (p.refused) reasons.set(p.refused, (reasons.get(p.refused) ?? 0) + 1);
  console.log(`  paraphrases refused: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const missed = negatives.filter((p) => !p.refused);
  console.log(`\nNegatives the guard lets through (served if above the threshold):`);
  for (const p of missed) console.log(`  [${p.kind}] sim=${p.similarity.toFixed(3)}  "${p.a}" / "${p.b}"`);
  const sim = (list: typeof scored) => list.map((p) => p.similarity).sort((x, y) => x - y);
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)].toFixed(3);
  console.log(`\nmedian similarity: paraphrases ${median(sim(positives))}, negatives ${median(sim(negatives))}`);
}

void main();
