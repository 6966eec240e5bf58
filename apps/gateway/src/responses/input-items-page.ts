import { GatewayError } from '@gateway/providers';
import type { ResponseItemList } from 'openai/resources/responses/input-items';
import type { ResponseItem } from 'openai/resources/responses/responses';
import type { IncludeQuery } from './include-query';

/** The query of GET /v1/responses/{id}/input_items; `include` asks for nothing more here (items are kept whole: checkIncludeQuery). */
export interface InputItemsQuery extends IncludeQuery {
  after?: unknown;
  limit?: unknown;
  order?: unknown;
}

/** One page of a response's input items, in the requested order, after the item `after` names. */
export function inputItemsPage(items: ResponseItem[], query: InputItemsQuery): ResponseItemList {
  const limit = limitOf(query.limit);
  const ordered = orderOf(query.order) === 'asc' ? items : [...items].reverse();
  const start = query.after === undefined ? 0 : afterIndex(ordered, query.after) + 1;
  const data = ordered.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: (data[0]?.id ?? null) as string,
    last_id: (data.at(-1)?.id ?? null) as string,
    has_more: start + limit < ordered.length,
  };
}

function limitOf(value: unknown): number {
  if (value === undefined) return 20;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (n >= 1 && n <= 100) return n;
  throw GatewayError.badRequest(`Invalid 'limit': expected an integer from 1 to 100, got '${String(value)}'.`, 'limit', 'invalid_value');
}

function orderOf(value: unknown): 'asc' | 'desc' {
  if (value === undefined || value === 'desc' || value === 'asc') return value ?? 'desc';
  throw GatewayError.badRequest(`Invalid 'order': expected 'asc' or 'desc', got '${String(value)}'.`, 'order', 'invalid_value');
}

function afterIndex(items: ResponseItem[], after: unknown): number {
  const at = items.findIndex((item) => item.id === after);
  if (at >= 0) return at;
  throw GatewayError.badRequest(`Invalid 'after': no input item of this response has the id '${String(after)}'.`, 'after', 'invalid_value');
}
