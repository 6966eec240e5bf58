import fc from 'fast-check';

/** A definition every generated schema carries in `$defs`, for `{"$ref":"#/$defs/Leaf"}`. */
const LEAF = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] };

/**
 * JSON Schemas as structured-output clients send them (pydantic, zod): types,
 * formats, ranges, enums, nested objects and arrays, anyOf, allOf and local $refs.
 * `extraLeaves` adds schemas of the caller's own (e.g. unresolvable refs).
 */
export function jsonSchemas(extraLeaves: Record<string, unknown>[] = []): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .letrec<{ schema: Record<string, unknown> }>((tie) => ({
      schema: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom<Record<string, unknown>>(
          { type: 'string' },
          { type: 'string', minLength: 3, maxLength: 6 },
          { type: 'string', format: 'date-time' },
          { type: 'string', format: 'email' },
          { type: 'string', format: 'uuid' },
          { type: 'integer', minimum: 5, maximum: 9 },
          { type: 'integer', exclusiveMinimum: 0, multipleOf: 3 },
          { type: 'number', minimum: -2.5, maximum: -1 },
          { type: 'boolean' },
          { type: 'null' },
          { type: ['string', 'null'] },
          { enum: ['a', 1, null] },
          { const: { fixed: true } },
          { $ref: '#/$defs/Leaf' },
          ...extraLeaves,
        ),
        fc.record({ type: fc.constant('array'), items: tie('schema'), minItems: fc.nat(3) }),
        fc.record({
          type: fc.constant('object'),
          properties: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), tie('schema'), { maxKeys: 4 }),
          additionalProperties: fc.constant(false),
        }),
        fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
        fc.constant({ allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { $ref: '#/$defs/Leaf' }] }),
      ),
    }))
    .schema.map((schema) => ({ ...schema, $defs: { Leaf: LEAF } }));
}

/** `depth` definitions, each holding the next one twice: 2^depth nodes once every $ref is inlined. */
export function doublingSchema(depth: number): Record<string, unknown> {
  const $defs = Object.fromEntries(
    Array.from({ length: depth }, (_, i) => [
      `d${i}`,
      i === depth - 1
        ? { type: 'string' }
        : { type: 'object', properties: { l: { $ref: `#/$defs/d${i + 1}` }, r: { $ref: `#/$defs/d${i + 1}` } } },
    ]),
  );
  return { $ref: '#/$defs/d0', $defs };
}

/**
 * Schemas whose keywords hold any JSON value, not only what JSON Schema allows (a `type` of 5,
 * a `required` of "a", a null in an `anyOf`, a `$ref` with a malformed escape), for the schema
 * translators: each must give its result or a 400, never another error.
 */
export function misshapenSchemas(): fc.Arbitrary<Record<string, unknown>> {
  const keywords = [
    'type',
    'required',
    'properties',
    'items',
    'prefixItems',
    'anyOf',
    'oneOf',
    'allOf',
    'enum',
    'const',
    '$ref',
    '$defs',
    'definitions',
    'additionalProperties',
    'format',
    'minLength',
  ];
  const { schema } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        'object',
        'string',
        'null',
        ['string', 'null'],
        '#',
        '#/$defs/a',
        '#/definitions/a',
        '#/$defs/%',
        '#/%',
        ['a'],
        'toString',
        5,
      ),
      tie('schema'),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b'), tie('value'), { maxKeys: 2 }),
    ),
    schema: fc.dictionary(fc.constantFrom(...keywords), tie('value'), { maxKeys: 4 }),
  }));
  // As the gateway reads them: JSON.parse's plain objects (fast-check may make null-prototype ones).
  return schema.map((s) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>);
}
