import { GatewayError } from '@gateway/providers';

/** What the models controller knows of a model: its bounds where its group's deployments declare them (ModelLimits). */
type ModelObject = { id: string; created: number } & Partial<ModelLimits>;

/** The largest prompt and completion a model serves: null where a deployment of it does not declare its bound. */
export interface ModelLimits {
  maxInputTokens: number | null;
  maxTokens: number | null;
}

/**
 * Anthropic's List Models query: a page of `limit` models (default 20, at most 1000) after or before a model's id, of the
 * `lifecycle` stages asked (the SDK sends `lifecycle[]`).
 */
export interface ModelPageQuery {
  limit?: string;
  after_id?: string;
  before_id?: string;
  lifecycle?: string | string[];
  'lifecycle[]'?: string | string[];
}

const LIFECYCLES = ['active', 'deprecated', 'retired'];

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

/** A model as Anthropic's Models API describes one. */
export function anthropicModel(model: ModelObject) {
  return {
    type: 'model',
    id: model.id,
    display_name: model.id,
    created_at: new Date(model.created * 1000).toISOString(),
    // The SDKs type every field as present. A model the gateway serves is active; its capabilities and line are the
    // vendor's to tell (null: unknown here, as Anthropic's schema allows).
    capabilities: null,
    lifecycle: 'active',
    deprecated_at: null,
    retires_at: null,
    line: null,
    max_input_tokens: model.maxInputTokens ?? null,
    max_tokens: model.maxTokens ?? null,
  };
}

/**
 * Anthropic's list page, as its List Models pages: up to `limit` models right after `after_id`, or
 * right before `before_id`, `has_more` when more lie that way (the SDKs page on it; other clients
 * page by `after_id` until a page is empty). A cursor the list does not hold is a 400 naming it:
 * a first page in its place would page for ever.
 */
export function anthropicModelList(listed: ModelObject[], query: ModelPageQuery = {}) {
  const limit = pageLimit(query.limit);
  // Every model served is active: a list of other stages only is empty.
  const models = lifecycles(query).includes('active') ? listed : [];
  const start = query.after_id === undefined ? 0 : cursor(models, query.after_id, 'after_id') + 1;
  const end = query.before_id === undefined ? models.length : cursor(models, query.before_id, 'before_id');
  const backwards = query.before_id !== undefined && query.after_id === undefined;
  const from = backwards ? Math.max(start, end - limit) : start;
  const to = backwards ? end : Math.max(from, Math.min(end, start + limit));
  const page = models.slice(from, to);
  return {
    data: page.map(anthropicModel),
    has_more: backwards ? from > start : to < end,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
  };
}

/** The stages asked (active and deprecated when none is, as Anthropic lists); a 400 for one it does not know. */
function lifecycles(query: ModelPageQuery): string[] {
  const asked = [query.lifecycle ?? [], query['lifecycle[]'] ?? []].flat();
  const unknown = asked.find((stage) => !LIFECYCLES.includes(stage));
  if (unknown !== undefined)
    throw GatewayError.badRequest(`lifecycle: expected ${LIFECYCLES.join(', ')}; got '${unknown}'.`, 'lifecycle', 'invalid_value');
  return asked.length ? asked : ['active', 'deprecated'];
}

function pageLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > MAX_LIMIT)
    throw GatewayError.badRequest(`limit: expected an integer from 1 to ${MAX_LIMIT}.`, 'limit', 'invalid_value');
  return limit;
}

function cursor(models: ModelObject[], id: string, param: string): number {
  const at = models.findIndex((model) => model.id === id);
  if (at < 0) throw GatewayError.badRequest(`${param}: no listed model has the id '${id}'.`, param, 'invalid_value');
  return at;
}
