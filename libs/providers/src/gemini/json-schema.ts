import type { SchemaBudget } from '../schema-budget';
import {
  checkShape,
  type Context,
  contextFor,
  countNode,
  DEFS_REF,
  definitionOf,
  inlineRef,
  isCycle,
  isSchemaObject,
  type JsonSchema,
  MAX_SCHEMA_NODES,
  mergedAllOf,
  type Place,
  placeIn,
  selfMade,
} from '../translation/schema-reading';

/**
 * JSON Schema 2020-12's keywords whose value is a schema (with draft 7's `additionalItems`), each sent
 * on as this module makes it, so that no `$ref` goes out unchecked or still naming `definitions`.
 * `items` may also be a list (draft 7's tuples: pydantic v1's Tuple[A, int]).
 */
const SCHEMA_VALUED = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'contentSchema',
]);
/** Keywords whose value is a list of schemas (`allOf` is merged before). */
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'prefixItems', 'items']);
/** Keywords whose value maps names to schemas (draft 7's `dependencies` also to lists of names, sent as they are). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas', 'dependencies', '$defs', 'definitions']);

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
 * - `definitions` (draft 7, zod-to-json-schema's default) join `$defs`, and references to them follow,
 *   under every keyword whose value is a schema;
 * - `$schema` is left out (Google's list has the other `$` keywords, not it);
 * - a `$ref` keeps only its `$` keywords (a description beside it is lost; its definition has its own);
 * - `allOf` is merged, as for the subset (Gemini does not list it: sent on, its members would be ignored),
 *   and an `allOf` of one `$ref` (pydantic v1's way to describe a reference) is that reference; so is an
 *   `allOf` member referring back to a definition it is inlined in (recursion: inlining it again would
 *   not end), what the other members add at that depth left out;
 * - `const` becomes a one-value `enum` when it is a string or a number (Gemini lists enum, not const);
 * - `propertyOrdering` keeps the declared order, as in the subset;
 * - a top-level `$ref` is its definition (with the top's other keywords), so a function's parameters are
 *   the object itself; `#` still means that same schema.
 * Shapes are checked and the size bounded as in the subset: a misshapen keyword is a 400 naming `param`
 * and where it is, a reference that is not local (`#`, `#/$defs/…`, `#/definitions/…`) or names nothing
 * is a 400, and so is a schema of more than MAX_SCHEMA_NODES nodes (the schema and its definitions), and
 * the schema or a definition made of itself (refuseSelfMade). Its nodes and inlined definitions count against the
 * request's `budget` (schema-budget.ts).
 */
export function toGeminiJsonSchema(schema: JsonSchema, param: string, budget: SchemaBudget): JsonSchema {
  const ctx = contextFor(schema, param, budget);
  refuseSelfMade(schema, ctx);
  let top = schema;
  // Ends: no chain of references comes back to where it began (refuseSelfMade).
  while (typeof top.$ref === 'string') {
    checkShape(top, ctx, undefined);
    const ref = top.$ref;
    top = inlineRef(top, ctx);
    ctx.refs = [...ctx.refs, ref];
  }
  const { $defs: _defs, definitions: _definitions, ...body } = top;
  const rest = sendable(body, ctx, undefined) as JsonSchema;
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
  const asRef = allOf?.find(
    (member): member is JsonSchema =>
      isSchemaObject(member) && typeof member.$ref === 'string' && (allOf.length === 1 || isCycle(member.$ref, ctx)),
  );
  if (asRef) return reference(asRef, ctx);
  if (typeof node.$ref === 'string') return reference(node, ctx);
  if (allOf) {
    const { merged, refs } = mergedAllOf(node, ctx, place);
    return sendable(merged, { ...ctx, refs }, place);
  }

  const constant = typeof node.const === 'string' || typeof node.const === 'number' ? node.const : undefined;
  // Built as entries: a key named __proto__ (a property, a definition) stays a key, not the object's prototype.
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'enum' && constant !== undefined)) continue;
    if (key === 'const' && constant !== undefined) entries.push(['enum', [constant]]);
    else if (SCHEMA_MAPS.has(key) && isSchemaObject(value)) {
      const names = Object.keys(value);
      entries.push([key, Object.fromEntries(names.map((name) => [name, sendable(value[name], ctx, placeIn(place, key, name))]))]);
      // Gemini answers in this order; JSON Schema clients expect the order they declared.
      if (key === 'properties' && names.length > 1 && node.propertyOrdering === undefined) entries.push(['propertyOrdering', names]);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value))
      entries.push([key, value.map((v, i) => sendable(v, ctx, placeIn(place, key, i)))]);
    else if (SCHEMA_VALUED.has(key)) entries.push([key, sendable(value, ctx, placeIn(place, key))]);
    else entries.push([key, value]);
  }
  return Object.fromEntries(entries);
}

/**
 * Refuses the schema or a definition made of itself: one that comes back to itself through `$ref`s and
 * `allOf` members alone, no property or item between (`{A: {$ref: A}}`, `{A: {allOf: [{$ref: B}]}, B:
 * {$ref: A}}`, the root `{$ref: "#"}`). It has no schema to send: in `$defs` it would be a reference to
 * itself. Walked depth first without recursion, each definition once: a chain of 10,000 definitions
 * is no deeper a stack.
 */
function refuseSelfMade(schema: JsonSchema, ctx: Context): void {
  const open = new Set<unknown>();
  const done = new Set<unknown>();
  const starts: unknown[] = [schema, ...Object.values(ctx.defs)];
  for (const start of starts) {
    if (done.has(start)) continue;
    const path = [{ node: start, refs: madeOf(start) }];
    open.add(start);
    while (path.length) {
      const at = path[path.length - 1];
      const ref = at.refs.pop();
      if (ref === undefined) {
        open.delete(at.node);
        done.add(at.node);
        path.pop();
        continue;
      }
      const target = ref === '#' ? schema : definitionOf(ref, ctx);
      if (open.has(target)) throw selfMade(ref, ctx);
      if (done.has(target)) continue;
      open.add(target);
      path.push({ node: target, refs: madeOf(target) });
    }
  }
}

/** The `$ref`s a node is made of: its own and its `allOf` members' (theirs too), not those under its properties or items. */
function madeOf(node: unknown): string[] {
  const refs: string[] = [];
  const pending = [node];
  while (pending.length) {
    const at = pending.pop();
    if (!isSchemaObject(at)) continue;
    if (typeof at.$ref === 'string') refs.push(at.$ref);
    if (Array.isArray(at.allOf)) for (const member of at.allOf) pending.push(member);
  }
  return refs;
}

/** A `$ref` node as Gemini takes one: its `$` keywords only, the reference local and resolved (else a 400), into `$defs`. */
function reference(node: JsonSchema, ctx: Context): JsonSchema {
  const ref = node.$ref as string;
  if (ref !== '#') definitionOf(ref, ctx);
  const match = DEFS_REF.exec(ref);
  const entries = Object.entries(node).filter(([key]) => key.startsWith('$') && key !== '$ref' && key !== '$schema');
  return Object.fromEntries([['$ref', match ? `#/$defs/${match[2]}` : ref], ...entries]);
}
