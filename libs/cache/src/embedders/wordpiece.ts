/**
 * BERT's uncased WordPiece tokenizer (the one all-MiniLM-L6-v2 was trained with): clean,
 * lower-case, strip accents, split on whitespace and punctuation, then greedy longest-match
 * sub-words from the model's vocab.txt.
 */
import { representable } from './vocabulary-coverage';

const MAX_WORD_CHARS = 100;

export class WordPiece {
  private readonly ids = new Map<string, number>();
  private readonly tokens: string[] = [];
  readonly cls: number;
  readonly sep: number;
  private readonly unk: number;

  /** `vocab`: vocab.txt's contents, one token a line, id = line number. */
  constructor(vocab: string) {
    vocab.split('\n').forEach((token, id) => {
      this.tokens[id] = token.trimEnd();
      if (token) this.ids.set(this.tokens[id], id);
    });
    const id = (token: string) => {
      const found = this.ids.get(token);
      if (found === undefined) throw new Error(`vocab.txt has no ${token}`);
      return found;
    };
    this.cls = id('[CLS]');
    this.sep = id('[SEP]');
    this.unk = id('[UNK]');
  }

  /** [CLS] tokens… [SEP], at most `maxTokens` in all. */
  encode(text: string, maxTokens: number): number[] {
    const ids = words(text).flatMap((w) => this.pieces(w));
    return [this.cls, ...ids.slice(0, maxTokens - 2), this.sep];
  }

  /**
   * Whether the model sees enough of `text` to place it (vocabulary-coverage.ts), and all of it: encode cuts
   * a text at `maxTokens`, and a prompt whose end is cut off embeds as its start, so two that differ only past
   * the cut score 1 ("<long context> Who asked for a review?" / "…Who organised the petition?").
   */
  represents(text: string, maxTokens: number): boolean {
    const all = words(text);
    const pieces = all.map((w) => this.pieces(w));
    if (pieces.flat().length > maxTokens - 2) return false;
    const known = pieces
      .filter((ids) => ids[0] !== this.unk)
      .flatMap((ids) => ids.map((id, i) => ({ text: this.tokens[id].replace(/^##/, ''), startsWord: i === 0 })));
    return representable(all.join(''), known);
  }

  private pieces(word: string): number[] {
    if (word.length > MAX_WORD_CHARS) return [this.unk];
    const out: number[] = [];
    for (let start = 0; start < word.length;) {
      let end = word.length;
      let id: number | undefined;
      for (; end > start; end--) {
        id = this.ids.get((start ? '##' : '') + word.slice(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.unk];
      out.push(id);
      start = end;
    }
    return out;
  }
}

/** BERT's basic tokenisation: each punctuation mark and CJK ideograph is a word of its own. */
function words(text: string): string[] {
  const cleaned = text
    .replace(/[\p{Cc}\p{Cf}\uFFFD]/gu, (c) => (/\s/.test(c) ? ' ' : ''))
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  return (
    cleaned.match(/[\p{P}\p{S}]|[\u4E00-\u9FFF\u3400-\u4DBF\uF900-\uFAFF]|[^\s\p{P}\p{S}\u4E00-\u9FFF\u3400-\u4DBF\uF900-\uFAFF]+/gu) ?? []
  );
}
