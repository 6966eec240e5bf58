import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type PairKind = 'paraphrase' | 'number' | 'entity' | 'negation' | 'unit' | 'key-term';

export interface PromptPair {
  kind: PairKind;
  a: string;
  b: string;
}

/** Labelled pairs from test/data/: `cache-pairs.tsv`, or the held-out `cache-pairs-holdout.tsv`. */
export function loadPromptPairs(name = 'cache-pairs.tsv'): PromptPair[] {
  const file = resolve(__dirname, '../../../test/data', name);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [kind, a, b] = line.split('\t');
      return { kind: kind as PairKind, a, b };
    });
}
