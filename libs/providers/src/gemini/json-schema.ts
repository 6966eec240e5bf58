import {
  checkShape,
  type Context,
  contextFor,
  countNode,
  DEFS_REF,
  definitionOf,
  inlineRef,
  isSchemaObject,
  type JsonSchema,
  MAX_SCHEMA_NODES,
  mergedAllOf,
  type Place,
  placeIn,
  selfMade,
} from './schema-reading';

/** Keywords whose value is a list of schemas, each sent on as this module makes it. */
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'prefixItems']);

/**
 * A client's JSON Schema as Gemini's JSON Schema fields take it (`generationConfig.responseJsonSchema`,
 * a declaration's `parametersJsonSchema`; every actively supported Gemini model since November 2025), for what its OpenAPI subset cannot
 * express (schema.ts decides). `$ref`s stay references, so a recursive schema stays recursive.
 *
 * What Google documents for these fields (the `responseJsonSchema` and `parametersJsonSchema` docs in
 * @google/genai 3.3's types, as the API reference at ai.google.dev/api/generate-content words them):
 * the full JSON Schema may be sent but only `$id`, `$defs`, `$ref`, `$anchor`, `type`, `format`, `title`,
 * `description`, `enum` (strings and numbers), `items`, `prefixItems`, `minItems`, `maxItems`, `minimum`,
 * `maximum`, `anyOf`, `oneOf` (read as anyOf), `properties`, `additionalProperties`, `required` and the
 * non-standard `propertyOrdering` are supported; "if `$ref` is set on a sub-schema, no other properties,
 * except for those starting as a `$`, may be set"; cyclic references "may only be used within non-required
 * properties"; a function's parameters "must describe an object". Keywords outside the list are ignored
 * there, not refused (python-genai#1093: `const` in parametersJsonSchema is silently ignored). So the
 * client's schema is sent as it is, except:
 * - `definitions` (draft 7, zod-to-json-schema's default) join `$defs`, and references to them follow;
 * - a `$ref` keeps only its `$` keywords (a description beside it is lost; its definition has its own);
 * - `allOf` is merged, as for the subset (Gemini does not list it: sent on, its members would be ignored),
 *   and an `allOf` of one `$ref` (pydantic v1's way to describe a reference) is that reference;
 * - `const` becomes a one-value `enum` when it is a string or a number (Gemini lists enum, not const);
 * - `propertyOrdering` keeps the declared order, as in the subset;
 * - a top-level `$ref` is its definition (with the top's other keywords), so a function's parameters are
 *   the object itself; `#` still means that same schema.
 * Shapes are checked and the size bounded as in the subset: a misshapen keyword is a 400 naming `param`
 * and where it is, a reference that is not local (`#`, `#/$defs/…`, `#/definitions/…`) or names nothing
 * is a 400, and so is a schema of more than MAX_SCHEMA_NODES nodes (the schema and its definitions).
 */
export function toGeminiJsonSchema(schema: JsonSchema, param: string): JsonSchema {
  const ctx = contextFor(schema, param);
  let top = schema;
  while (typeof top.$ref === 'string') {
    // The top made of itself (`#`, or a definition that is its own reference) has no schema to send.
    if (top.$ref === '#' || ctx.refs.includes(top.$ref)) throw selfMade(top.$ref, ctx);
    checkShape(top, ctx, undefined);
    const ref = top.$ref;
    top = inlineRef(top, ctx);
    ctx.refs = [...ctx.refs, ref];
  }
  const { $defs: _defs, definitions: _definitions, ...rest } = sendable(top, ctx, undefined) as JsonSchema;
  const names = Object.keys(ctx.defs);
  if (!names.length) return rest;
  const defs = names.map((name) => [name, sendable(ctx.defs[name], { ...ctx, refs: [] }, placeIn(undefined, '$defs', name))]);
  return { ...rest, $defs: Object.fromEntries(defs) };
}

/** A node as Gemini's JSON Schema takes it (toGeminiJsonSchema); boolean schemas as they are. */
function sendable(node: unknown, ctx: Context, place: Place | undefined): unknown {
  if (!isSchemaObject(node)) return node;
  countNode(ctx, `has more than ${MAX_SCHEMA_NODES} nodes`);
  checkShape(node, ctx, place);
  const allOf = node.allOf as unknown[] | undefined;
  if (allOf?.length === 1 && isSchemaObject(allOf[0]) && typeof allOf[0].$ref === 'string') return reference(allOf[0], ctx);
  if (typeof node.$ref === 'string') return reference(node, ctx);
  if (allOf) {
    const { merged, refs } = mergedAllOf(node, ctx, place);
    return sendable(merged, { ...ctx, refs }, place);
  }

  const constant = typeof node.const === 'string' || typeof node.const === 'number' ? node.const : undefined;
  // Built as entries: a key named __proto__ (a property, a definition) stays a key, not the object's prototype.
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'const' && constant !== undefined) entries.push(['enum', [constant]]);
    else if (key === 'enum' && constant !== undefined) continue;
    else if (key === 'properties' && isSchemaObject(value)) {
      const names = Object.keys(value);
      entries.push([key, Object.fromEntries(names.map((name) => [name, sendable(value[name], ctx, placeIn(place, key, name))]))]);
      // Gemini answers in this order; JSON Schema clients expect the order they declared.
      if (names.length > 1 && node.propertyOrdering === undefined) entries.push(['propertyOrdering', names]);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value))
      entries.push([key, value.map((v, i) => sendable(v, ctx, placeIn(place, key, i)))]);
    else if (key === 'items' || key === 'additionalProperties') entries.push([key, sendable(value, ctx, placeIn(place, key))]);
    else entries.push([key, value]);
  }
  return Object.fromEntries(entries);
}

/** A `$ref` node as Gemini takes one: its `$` keywords only, the reference local and resolved (else a 400), into `$defs`. */
function reference(node: JsonSchema, ctx: Context): JsonSchema {
  const ref = node.$ref as string;
  if (ref !== '#') definitionOf(ref, ctx);
  const match = DEFS_REF.exec(ref);
  const entries = Object.entries(node).filter(([key]) => key.startsWith('$') && key !== '$ref');
  return Object.fromEntries([['$ref', match ? `#/$defs/${match[2]}` : ref], ...entries]);
}
