import { indexAttributes, indexDefinition } from './search-reply';

/** The index the gateway creates (RedisBackend.createIndex), as FT.INFO describes it. */
export interface IndexSchema {
  keyType: string;
  prefixes: string[];
  /** By attribute name: the FT.INFO keys (lower-cased) each field must have, and their values. */
  fields: Record<string, Record<string, string>>;
}

export function gatewayIndexSchema(entryPrefix: string, dimensions: number): IndexSchema {
  return {
    keyType: 'HASH',
    prefixes: [entryPrefix],
    fields: {
      // Namespaces are hex digests: another separator could split them.
      ns: { identifier: 'ns', type: 'TAG', separator: ',' },
      vec: { identifier: 'vec', type: 'VECTOR', data_type: 'FLOAT32', dim: String(dimensions), distance_metric: 'COSINE' },
    },
  };
}

/**
 * How the index an FT.INFO reply describes differs from `expected`, one phrase each ("vec data_type
 * FLOAT64, needs FLOAT32"); empty when it fits. Any difference can leave every entry unindexed or
 * unfound: another prefix or key type (nothing of ours is indexed), a filter, a field missing, added
 * (a type our values fail) or of another type, another vector type, dimension or metric. A value
 * FT.INFO does not list is trusted: RediSearch 2.6 lists no vector parameters.
 */
export function schemaDifferences(info: unknown, expected: IndexSchema): string[] {
  const differences: string[] = [];
  const definition = indexDefinition(info);
  const keyType = definition.key_type === undefined ? expected.keyType : String(definition.key_type);
  if (keyType !== expected.keyType) differences.push(`key type ${keyType}, needs ${expected.keyType}`);
  const prefixes = definition.prefixes === undefined ? expected.prefixes : [definition.prefixes].flat().map(String);
  if (prefixes.join(' ') !== expected.prefixes.join(' '))
    differences.push(`prefixes ${prefixes.join(' ') || '(none)'}, needs ${expected.prefixes.join(' ')}`);
  if (definition.filter) differences.push(`filter ${String(definition.filter)}, needs none`);

  const fields = new Map(indexAttributes(info).map((field) => [field.attribute ?? field.identifier, field]));
  for (const [name, wanted] of Object.entries(expected.fields)) {
    const field = fields.get(name);
    if (!field) {
      differences.push(`no field ${name}`);
      continue;
    }
    for (const [key, value] of Object.entries(wanted)) {
      const actual = field[key] ?? value;
      // Names are case-sensitive; FT.INFO may spell types and metrics in either case.
      if (key === 'identifier' ? actual !== value : actual.toUpperCase() !== value.toUpperCase())
        differences.push(`${name} ${key} ${actual}, needs ${value}`);
    }
  }
  for (const name of fields.keys()) if (!(name in expected.fields)) differences.push(`field ${name}, needs none`);
  return differences;
}

/**
 * How the vector field of the index an FT.INFO reply describes was built (HNSW M, EF_CONSTRUCTION) where it differs
 * from `wanted`, one phrase each ("M 16, the config's hnswM 32"); empty when it matches or FT.INFO does not list them.
 * RediSearch fixes them when the index is made: a changed setting applies only to an index made again.
 */
export function tuningDifferences(info: unknown, wanted: { hnswM: number; hnswEfConstruction: number }): string[] {
  const vec = indexAttributes(info).find((field) => (field.attribute ?? field.identifier) === 'vec');
  const settings: [string, string, number][] = [
    ['m', 'hnswM', wanted.hnswM],
    ['ef_construction', 'hnswEfConstruction', wanted.hnswEfConstruction],
  ];
  return settings
    .filter(([key, , value]) => vec?.[key] !== undefined && Number(vec[key]) !== value)
    .map(([key, setting, value]) => `${key.toUpperCase()} ${vec![key]}, the config's cache.redis.${setting} ${value}`);
}
