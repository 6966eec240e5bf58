/**
 * Paraphrases served and hard negatives served (false hits) by the semantic cache per
 * similarity threshold, with and without the guard, on the labelled pairs of test/data/
 * (see its README), with an offline embedder (USE lite by default) or a gateway's embedding
 * model. Prompt a is cached; prompt b asks.
 *   node dist/bench/cache-guard.js                         every file: tune, held-out, older sets
 *   node dist/bench/cache-guard.js cache-eval-tune.tsv     one file (while tuning: never the held-out one)
 *   node dist/bench/cache-guard.js /path/to/pairs.tsv      your own pairs (kind, source, a, b; tab-separated)
 *   --embedder minilm   all-MiniLM-L6-v2 (scripts/minilm-model.sh) instead of USE lite
 *   --gateway http://127.0.0.1:3000 --embedding-model NAME [--api-key-env VAR] [--dimensions N]
 *                       the embedding model a running gateway serves (its /v1/embeddings, in batches;
 *                       the key in the variable VAR), as cache.semantic.embeddingModel embeds
 *   --threshold 0.7     the threshold marked and broken down by group (default: the config's)
 * Embeddings are kept in bench/results/cache-guard-vectors[-minilm|-gateway-NAME].json between runs
 * (same texts, same model). A pair with a prompt the embedder cannot represent is counted and never
 * served: the gateway caches such a prompt exactly only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SemanticCacheConfig } from '../libs/config/src/cache-config';
import { guardPrompts } from '../libs/cache/src/guard';
import { loadPromptPairs, type PromptPair } from '../test/support/cache-pairs';
import { chosenEmbedder } from './cache-guard/embedder';
import { embedPrompts, pairSimilarity, type PromptVector } from './cache-guard/vectors';

const FILES = [
  'cache-eval-tune.tsv',
  'cache-eval-holdout.tsv',
  'cache-pairs.tsv',
  'cache-pairs-holdout.tsv',
  'cache-fresh-tune.tsv',
  'cache-fresh-holdout.tsv',
  'cache-relation-tune.tsv',
  'cache-relation-holdout.tsv',
  'cache-tense-tune.tsv',
  'cache-tense-holdout.tsv',
  'cache-literal-tune.tsv',
  'cache-literal-holdout.tsv',
  'cache-modal-tune.tsv',
  'cache-modal-holdout.tsv',
  'cache-future-tune.tsv',
  'cache-future-holdout.tsv',
  'cache-numeral-tune.tsv',
  'cache-numeral-holdout.tsv',
  'cache-passive-tune.tsv',
  'cache-passive-holdout.tsv',
  'cache-symmetric-tune.tsv',
  'cache-symmetric-holdout.tsv',
];
const { values: opts, positionals } = options();
const EMBEDDER = chosenEmbedder(opts, fail);
const DEFAULTS = new SemanticCacheConfig();
const DEFAULT_THRESHOLD = opts.threshold ? Number(opts.threshold) : DEFAULTS.threshold;
const THRESHOLDS = [0.6, 0.65, 0.7, 0.72, 0.75, 0.78, 0.8, 0.82, 0.85, 0.88, 0.9];
const SUBSTITUTION_THRESHOLDS = [0.85, 0.9, 0.95, 1.01];
const VECTORS_FILE = resolve(__dirname, `../../bench/results/cache-guard-vectors${EMBEDDER.vectorsSuffix}.json`);

interface Scored extends PromptPair {
  /** Undefined for a pair with an unrepresented prompt: never served. */
  similarity?: number;
  /** The guard's reason at the default substitution threshold. */
  refused?: string;
  refusedAt: (substitutionThreshold: number) => string | undefined;
}

async function main(): Promise<void> {
  const files = positionals.length ? positionals : FILES;
  const vectors = await embedAll(files.flatMap((f) => loadPromptPairs(f)).flatMap((p) => [p.a, p.b]));
  console.log(`embedder ${EMBEDDER.name}; threshold ${DEFAULT_THRESHOLD}; hit = paraphrase served, false hit = hard negative served\n`);
  for (const file of files) report(file, loadPromptPairs(file), vectors);
}

function report(file: string, pairs: PromptPair[], vectors: Map<string, PromptVector>): void {
  const scored: Scored[] = pairs.map((p) => {
    const similarity = pairSimilarity(vectors, p);
    const refusedAt = (st: number) => guardPrompts(p.b, p.a, similarity ?? 0, st);
    return { ...p, similarity, refusedAt, refused: refusedAt(DEFAULTS.substitutionThreshold) };
  });
  const positives = scored.filter((p) => p.kind === 'paraphrase');
  const negatives = scored.filter((p) => p.kind !== 'paraphrase');
  const above = (p: Scored, t: number) => p.similarity !== undefined && p.similarity >= t;
  const served = (list: Scored[], t: number, guarded: boolean) => list.filter((p) => above(p, t) && (!guarded || !p.refused));
  const pct = (list: Scored[], of: Scored[]) => (of.length ? `${((100 * list.length) / of.length).toFixed(1)}%` : '–');
  const unrepresented = (list: Scored[]) => list.filter((p) => p.similarity === undefined).length;

  console.log(`## ${file}: ${positives.length} paraphrases, ${negatives.length} hard negatives\n`);
  console.log(
    `Unrepresented (a prompt the embedder cannot represent: exact cache only, never served here): ` +
      `${unrepresented(positives)} paraphrases, ${unrepresented(negatives)} hard negatives\n`,
  );
  console.log(`Substitution threshold ${DEFAULTS.substitutionThreshold} (default):\n`);
  console.log('| threshold | paraphrases served, guard | false hits, guard | paraphrases served, no guard | false hits, no guard |');
  console.log('|---|---:|---:|---:|---:|');
  for (const t of THRESHOLDS) {
    const mark = t === DEFAULT_THRESHOLD ? (opts.threshold ? ' (chosen)' : ' (default)') : '';
    console.log(
      `| ${t.toFixed(2)}${mark} | ${pct(served(positives, t, true), positives)} | ${pct(served(negatives, t, true), negatives)} | ` +
        `${pct(served(positives, t, false), positives)} | ${pct(served(negatives, t, false), negatives)} |`,
    );
  }

  console.log('\nParaphrases served / false hits, by threshold (rows) and substitution threshold (columns):\n');
  console.log(`| threshold | ${SUBSTITUTION_THRESHOLDS.join(' | ')} |`);
  console.log(`|---|${SUBSTITUTION_THRESHOLDS.map(() => '---:').join('|')}|`);
  for (const t of THRESHOLDS) {
    const cell = (st: number) => {
      const ok = (list: Scored[]) => list.filter((p) => above(p, t) && !p.refusedAt(st));
      return `${pct(ok(positives), positives)} / ${pct(ok(negatives), negatives)}`;
    };
    console.log(`| ${t.toFixed(2)} | ${SUBSTITUTION_THRESHOLDS.map(cell).join(' | ')} |`);
  }

  const groups = (list: Scored[], by: (p: Scored) => string) => {
    const map = new Map<string, Scored[]>();
    for (const p of list) map.set(by(p), [...(map.get(by(p)) ?? []), p]);
    return [...map].sort(([a], [b]) => a.localeCompare(b));
  };
  const t = DEFAULT_THRESHOLD;
  const nearby = [t - 0.05, t, t + 0.05];
  console.log(`\nWith the guard, by group, at the default threshold ${t} and either side of it:\n`);
  console.log(`| group | pairs | ${nearby.map((x) => x.toFixed(2)).join(' | ')} |`);
  console.log(`|---|---:|${nearby.map(() => '---:').join('|')}|`);
  const style = (p: Scored) => p.source.replace(/^clinc:.*/, 'clinc').replace(/^written:/, 'written ') || 'all';
  const row = (name: string, list: Scored[]) =>
    console.log(`| ${name} | ${list.length} | ${nearby.map((x) => pct(served(list, x, true), list)).join(' | ')} |`);
  for (const [name, list] of groups(positives, style)) row(`paraphrases served, ${name}`, list);
  for (const [kind, list] of groups(negatives, (p) => p.kind)) row(`false hits, ${kind}`, list);
  const reasons = groups(
    positives.filter((p) => above(p, t) && p.refused),
    (p) => p.refused!,
  );
  console.log(
    `\nParaphrases above the threshold refused by the guard: ${reasons.map(([r, l]) => `${r} ${l.length}`).join(', ') || 'none'}`,
  );
  const falseHits = served(negatives, t, true);
  if (falseHits.length) console.log(`False hits at ${t}:`);
  for (const p of falseHits) console.log(`  [${p.kind}] ${p.similarity!.toFixed(3)}  "${p.a}" / "${p.b}"`);
  console.log();
}

/** Unit vectors (null: unrepresented) by text, from the stored file where present, the rest from the embedder. */
async function embedAll(texts: string[]): Promise<Map<string, PromptVector>> {
  const stored: Record<string, number[] | null> = existsSync(VECTORS_FILE) ? JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) : {};
  const vectors = new Map<string, PromptVector>(Object.entries(stored).map(([text, v]) => [text, v && Float32Array.from(v)]));
  const missing = [...new Set(texts)].filter((t) => !vectors.has(t));
  if (!missing.length) return vectors;
  const embedder = EMBEDDER.create();
  await embedder.loaded;
  const started = performance.now();
  for (const [text, vector] of await embedPrompts(embedder, missing)) vectors.set(text, vector);
  const seconds = (performance.now() - started) / 1000;
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(
    `${embedder.id}: ${missing.length} prompts in ${seconds.toFixed(1)} s (${Math.round(missing.length / seconds)}/s), RSS ${rss} MB\n`,
  );
  await embedder.close();
  mkdirSync(resolve(VECTORS_FILE, '..'), { recursive: true });
  writeFileSync(VECTORS_FILE, JSON.stringify(Object.fromEntries([...vectors].map(([t, v]) => [t, v && Array.from(v)]))));
  return vectors;
}

/** The command line; an unknown option or a missing value ends the tool with one line naming it, not a stack trace. */
function options() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        embedder: { type: 'string' },
        gateway: { type: 'string' },
        'embedding-model': { type: 'string' },
        'api-key-env': { type: 'string' },
        dimensions: { type: 'string' },
        threshold: { type: 'string' },
      },
    });
  } catch (err) {
    return fail(`${(err as Error).message} (usage: the comment at the top of bench/cache-guard.ts)`);
  }
}

function fail(message: string): never {
  console.error(`cache-guard: ${message}`);
  process.exit(2);
}

main().catch((err: Error) => fail(err.message));
