/**
 * FT.SEARCH replies come in two shapes. RESP2 (and RediSearch before 2.8 on any
 * protocol): [total, key, [field, value, …], key, […], …]. RESP3 with ioredis'
 * default "legacy" mapping flattens the map: [… 'results', [['id', key,
 * 'extra_attributes', [field, value, …], …], …], …] (plain objects with its "resp3"
 * mapping). All become one list here.
 */
export interface SearchHit {
  key: string;
  fields: Record<string, string>;
}

export function parseSearchReply(reply: unknown): SearchHit[] {
  if (!reply || typeof reply !== 'object') throw new Error('FT.SEARCH: unexpected reply');
  if (Array.isArray(reply) && typeof reply[0] === 'number') {
    const hits: SearchHit[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) hits.push({ key: String(reply[i]), fields: pairs(reply[i + 1]) });
    return hits;
  }
  const results = pairs(reply, false).results;
  if (!Array.isArray(results)) throw new Error('FT.SEARCH: reply without results');
  return results.map((result) => {
    const map = pairs(result, false);
    return { key: String(map.id), fields: pairs(map.extra_attributes) };
  });
}

/** A flat [key, value, …] list (or a RESP3 map object) as a record. */
function pairs(list: unknown, stringify: false): Record<string, unknown>;
function pairs(list: unknown): Record<string, string>;
function pairs(list: unknown, stringify = true): Record<string, unknown> {
  if (list && typeof list === 'object' && !Array.isArray(list)) return list as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  if (!Array.isArray(list)) return record;
  for (let i = 0; i + 1 < list.length; i += 2) record[String(list[i])] = stringify ? String(list[i + 1]) : list[i + 1];
  return record;
}

/** The number of matching documents in an FT.SEARCH reply (RESP2 first element, RESP3 `total_results`). */
export function searchTotal(reply: unknown): number {
  if (Array.isArray(reply) && typeof reply[0] === 'number') return reply[0];
  return Number(pairs(reply, false).total_results ?? 0);
}

/**
 * Every field's schema in an FT.INFO reply (`attributes`: a list of [identifier, …, dim, 512,
 * distance_metric, COSINE, …] lists, or maps in RESP3), keys lower-cased.
 */
export function indexAttributes(info: unknown): Record<string, string>[] {
  const attributes = pairs(info, false).attributes;
  if (!Array.isArray(attributes)) return [];
  return attributes.map((attribute) => Object.fromEntries(Object.entries(pairs(attribute)).map(([k, v]) => [k.toLowerCase(), String(v)])));
}

/** What an FT.INFO reply says the index covers (`index_definition`: key_type, prefixes, filter…). */
export function indexDefinition(info: unknown): Record<string, unknown> {
  return pairs(pairs(info, false).index_definition, false);
}

/** The number of documents in an FT.INFO reply (`num_docs`). */
export function indexSize(info: unknown): number {
  return Number(pairs(info, false).num_docs ?? 0);
}
