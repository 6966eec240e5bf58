import { TASK_PATTERN_FLAGS, type TaskMatch, type VirtualModelConfig } from '@gateway/config';
import type { RequestProfile } from './request-profile';

/** A rule with its pattern and keywords compiled once at start-up. */
interface CompiledRule {
  name: string;
  model: string;
  test: (profile: RequestProfile, task: string | undefined) => boolean;
}

export interface TaskDecision {
  /** The public model the request is routed to. */
  model: string;
  /** The rule that fired, or `default`. */
  rule: string;
}

/** A virtual model (e.g. `auto`): routes each request to a model group by what it is. */
export class TaskRouter {
  private readonly rules: CompiledRule[];
  /** Every model it may route to: the rules' and the default. */
  readonly targets: string[];

  constructor(private readonly config: VirtualModelConfig) {
    this.rules = config.rules.map((r) => ({ name: r.name, model: r.model, test: compile(r.match) }));
    this.targets = [...new Set([...config.rules.map((r) => r.model), config.default])];
  }

  /**
   * The first rule that matches whose model `serves` the request (has a deployment declaring every capability it
   * needs), else the default if it serves it; when none does, the first rule that matches (or the default), whose
   * refusal says what is missing. A PDF of a rule's length (a long contract) went to a group with no `vision`
   * deployment and was refused, though the default, or a later rule, could read it.
   */
  decide(profile: RequestProfile, task: string | undefined, serves: (model: string) => boolean = () => true): TaskDecision {
    // Rules after the first that matches and serves are not tested (their patterns run on the prompt).
    let first: CompiledRule | undefined;
    for (const rule of this.rules) {
      if (!rule.test(profile, task)) continue;
      if (serves(rule.model)) return { model: rule.model, rule: rule.name };
      first ??= rule;
    }
    return first && !serves(this.config.default)
      ? { model: first.model, rule: first.name }
      : { model: this.config.default, rule: 'default' };
  }
}

/** Every condition given must hold; an empty match always holds. */
function compile(match: TaskMatch): CompiledRule['test'] {
  const checks: CompiledRule['test'][] = [];
  if (match.task !== undefined) {
    const wanted = match.task.toLowerCase();
    checks.push((_, task) => task?.trim().toLowerCase() === wanted);
  }
  if (match.pattern) {
    const re = new RegExp(match.pattern, TASK_PATTERN_FLAGS);
    checks.push((p) => re.test(p.lastUserText));
  }
  if (match.keywords?.length) {
    // Both sides in NFC: `café` typed decomposed (`cafe` and U+0301, as macOS file names and some input methods
    // give it) is the same word to a reader and a model, and matched it not.
    const re = keywordPattern(match.keywords.map((keyword) => keyword.normalize('NFC')));
    checks.push((p) => re.test(p.lastUserText.normalize('NFC')));
  }
  if (match.minPromptTokens !== undefined) checks.push((p) => p.promptTokens >= match.minPromptTokens!);
  if (match.maxPromptTokens !== undefined) checks.push((p) => p.promptTokens <= match.maxPromptTokens!);
  if (match.tools !== undefined) checks.push((p) => p.needs.includes('tools') === match.tools);
  if (match.images !== undefined) checks.push((p) => p.hasImages === match.images);
  if (match.responseFormat !== undefined) checks.push((p) => p.needs.includes('json') === match.responseFormat);
  return (profile, task) => checks.every((check) => check(profile, task));
}

/** A letter, combining mark, digit or underscore: what a word is made of. */
const WORD_CHAR = String.raw`[\p{L}\p{M}\p{N}_]`;
/** A character of a script written without spaces between words: a keyword in one may sit next to any letter. */
const UNSPACED_CHAR = String.raw`[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]`;
/**
 * A word character of a spaced script: only such a neighbour makes a keyword part of a longer word.
 * Chinese or Japanese next to a Latin keyword is a word boundary ("这个bug怎么办"), as Unicode word
 * segmentation (UAX #29) has it.
 */
const SPACED_WORD_CHAR = `(?:(?!${UNSPACED_CHAR})${WORD_CHAR})`;

/**
 * Any of the keywords as a whole word or phrase, case-insensitive: `bug` matches "a bug." and
 * "这个bug" but not "debug", `stack trace` any spacing of the two words. A keyword's end that is
 * not part of a word (`c++`) or is in a script without spaces (Chinese, Japanese, Thai…) needs no
 * boundary there.
 */
function keywordPattern(keywords: string[]): RegExp {
  const wordChar = new RegExp(WORD_CHAR, 'u');
  const unspaced = new RegExp(UNSPACED_CHAR, 'u');
  const needsBoundary = (c: string) => wordChar.test(c) && !unspaced.test(c);
  const alternatives = keywords.map((keyword) => {
    const chars = [...keyword.trim()];
    const phrase = keyword
      .trim()
      .split(/\s+/u)
      .map((word) => word.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('\\s+');
    const before = needsBoundary(chars[0]) ? `(?<!${SPACED_WORD_CHAR})` : '';
    return before + phrase + (needsBoundary(chars.at(-1)!) ? `(?!${SPACED_WORD_CHAR})` : '');
  });
  return new RegExp(alternatives.join('|'), 'iu');
}
