import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** `paraphrase`, or the kind of hard negative (number, entity, negation, unit, direction, question, topic, intent, key-term). */
export type PairKind = string;

export interface PromptPair {
  kind: PairKind;
  /** Where the pair comes from (`clinc:<intent>`, `written:<style>`); empty in the older files. */
  source: string;
  a: string;
  b: string;
}

/**
 * Labelled pairs from test/data/ (see its README): `kind, source, a, b` per line in the
 * cache-eval files, `kind, a, b` in the older cache-pairs files.
 */
export function loadPromptPairs(name = 'cache-eval-tune.tsv'): PromptPair[] {
  const file = resolve(__dirname, '../../../test/data', name);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const fields = line.split('\t');
      const [kind, source, a, b] = fields.length === 4 ? fields : [fields[0], '', fields[1], fields[2]];
      return { kind, source, a, b };
    });
}
