import type { TaskMatch, VirtualModelConfig } from '@gateway/config';
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

  constructor(private readonly config: VirtualModelConfig) {
    this.rules = config.rules.map((r) => ({ name: r.name, model: r.model, test: compile(r.match) }));
  }

  decide(profile: RequestProfile, task: string | undefined): TaskDecision {
    const rule = this.rules.find((r) => r.test(profile, task));
    return rule ? { model: rule.model, rule: rule.name } : { model: this.config.default, rule: 'default' };
  }
}

/** Every condition given must hold; an empty match always holds. */
function compile(match: TaskMatch): CompiledRule['test'] {
  const checks: CompiledRule['test'][] = [];
  if (match.task !== undefined) checks.push((_, task) => task === match.task);
  if (match.pattern) {
    const re = new RegExp(match.pattern, 'i');
    checks.push((p) => re.test(p.lastUserText));
  }
  if (match.keywords?.length) {
    const words = match.keywords.map((k) => k.toLowerCase());
    checks.push((p) => {
      const text = p.lastUserText.toLowerCase();
      return words.some((w) => text.includes(w));
    });
  }
  if (match.minPromptTokens !== undefined) checks.push((p) => p.promptTokens >= match.minPromptTokens!);
  if (match.maxPromptTokens !== undefined) checks.push((p) => p.promptTokens <= match.maxPromptTokens!);
  if (match.tools !== undefined) checks.push((p) => p.needs.includes('tools') === match.tools);
  if (match.images !== undefined) checks.push((p) => p.hasImages === match.images);
  if (match.responseFormat !== undefined) checks.push((p) => p.needs.includes('json') === match.responseFormat);
  return (profile, task) => checks.every((check) => check(profile, task));
}
