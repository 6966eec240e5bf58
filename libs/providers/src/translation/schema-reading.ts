import { GatewayError } from '../gateway-error';
import type { SchemaBudget } from '../schema-budget';

/**
 * Reading a client's JSON Schema for a vendor that takes less than JSON Schema: Gemini's two forms
 * (gemini/schema.ts, the OpenAPI subset; gemini/json-schema.ts, its JSON Schema fields) and Anthropic's
 * top-level `allOf` merge: where a node is, the shapes of the keywords read, the node bound, local
 * `$ref`s and `allOf` merging.
 */
export type JsonSchema = Record<string, unknown>;

/**
 * Most nodes one schema sent to Gemini may have. Inlining `$ref`s can multiply a small
 * schema (each definition using the previous one twice doubles it), so the work is
 * bounded by what it produces, not by the size of what the client sent.
 */
export const MAX_SCHEMA_NODES = 10_000;

export interface Context {
  defs: Record<string, JsonSchema>;
  param: string;
  /** The $refs being inlined, outermost first, to refuse (or, in the subset, give up on) a cycle. */
  refs: string[];
  /** Nodes produced so far, shared by the whole translation. */
  nodes: { count: number };
  /** What the request's schemas have produced in all (schema-budget.ts), shared by all of them. */
  budget: SchemaBudget;
}

/**
 * A context for translating `schema`, at `param`: its `definitions` and `$defs` by name ($defs wins a name both have),
 * counted against the request's `budget`.
 */
export function contextFor(schema: JsonSchema, param: string, budget: SchemaBudget): Context {
  const defs = { ...(schema.definitions as object), ...(schema.$defs as object) } as Record<string, JsonSchema>;
  return { defs, param, refs: [], nodes: { count: 0 }, budget };
}

/**
 * Counts one more node produced, for the schema and for the request; past MAX_SCHEMA_NODES, a 400 saying so
 * (`tooLarge`: how, after "The schema "); past the request's bound, its 400.
 */
export function countNode(ctx: Context, tooLarge: string): void {
  if (++ctx.nodes.count > MAX_SCHEMA_NODES) throw GatewayError.badRequest(`The schema ${tooLarge}.`, ctx.param, 'invalid_value');
  ctx.budget.countNode(ctx.param);
}

/**
 * Where a node is inside the schema, for the 400: the place of its parent and the step from
 * there (`properties` + `a`, `anyOf` + 1, `items`, or `$ref` + the reference inlined). Kept as
 * links and made into text (`.properties.a.items`) only when a 400 needs it: a path string and a
 * context copy per node were most of the translation's cost on large tool schemas. `same`: a step
 * to a node that stands for its parent (the one non-null variant of an `anyOf`), so the parent's
 * place in the schema is its place too (isTop).
 */
export interface Place {
  readonly up: Place | undefined;
  readonly keyword: string;
  readonly key?: string | number;
  readonly same?: boolean;
}

export function placeIn(up: Place | undefined, keyword: string, key?: string | number, same?: boolean): Place {
  return { up, keyword, key, same };
}

/** Whether a place is the schema's top: the root, or a node standing for it. */
export function isTop(place: Place | undefined): boolean {
  for (let at = place; at; at = at.up) if (!at.same) return false;
  return true;
}

/** The place as text, `.properties.a.anyOf[1]`; empty at the root. */
function pathOf(place: Place | undefined): string {
  let path = '';
  for (let at = place; at; at = at.up) {
    const { keyword, key } = at;
    const step =
      keyword === '$ref'
        ? `(${key})`
        : key === undefined
          ? `.${keyword}`
          : typeof key === 'number'
            ? `.${keyword}[${key}]`
            : `.${keyword}.${key}`;
    path = step + path;
  }
  return path;
}

/** JSON Schema's type names: a `type` naming another (`"strnig"`, `"STRING"`) is a 400, not sent on for Gemini to refuse. */
const JSON_TYPES: ReadonlySet<unknown> = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const TYPE_NAMES = `a JSON Schema type (${[...JSON_TYPES].join(', ')})`;

const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf'] as const;

/**
 * The keywords the translation reads as lists or strings, checked before it reads them: JSON
 * Schema's shapes (a `type` of 5 or a `required` of "a" is no schema), with JSON null taken as
 * absent, as the translation always has. Members of a list of schemas are objects or booleans.
 */
export function checkShape(node: JsonSchema, ctx: Context, place: Place | undefined): void {
  // JSON Schema's meta-schema: a list of types has at least one.
  if (node.type != null && !isString(node.type) && !(Array.isArray(node.type) && node.type.length && node.type.every(isString)))
    throw misshapen('type', 'a string or a non-empty array of strings', ctx, place);
  const unknownType = node.type == null ? undefined : (Array.isArray(node.type) ? node.type : [node.type]).find((t) => !JSON_TYPES.has(t));
  if (unknownType !== undefined) throw misshapen('type', `${TYPE_NAMES} or an array of them, not '${String(unknownType)}'`, ctx, place);
  if (node.required != null && !(Array.isArray(node.required) && node.required.every(isString)))
    throw misshapen('required', 'an array of strings', ctx, place);
  if (node.enum != null && !Array.isArray(node.enum)) throw misshapen('enum', 'an array', ctx, place);
  for (const keyword of SCHEMA_LISTS) {
    const list = node[keyword];
    if (list != null && !(Array.isArray(list) && list.every(isSubschema))) throw misshapen(keyword, 'an array of schemas', ctx, place);
  }
}

/** The 400 for a keyword not shaped as JSON Schema says, naming where it is (the path is built here, on this path only). */
function misshapen(keyword: string, shape: string, ctx: Context, place: Place | undefined): GatewayError {
  const path = pathOf(place);
  const where = path ? `at ${path.slice(1)} ` : '';
  return GatewayError.badRequest(`Invalid JSON Schema: '${keyword}' ${where}must be ${shape}.`, ctx.param, 'invalid_value');
}

function isString(value: unknown): boolean {
  return typeof value === 'string';
}

/** A schema where one is expected: an object, or JSON Schema's boolean schemas. */
function isSubschema(value: unknown): boolean {
  return typeof value === 'boolean' || isSchemaObject(value);
}

/** A schema written as an object (not one of JSON Schema's boolean schemas). */
export function isSchemaObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A local `$ref` into the definitions: `#/$defs/x` or `#/definitions/x`, and the name it gives (undefined if neither). */
export const DEFS_REF = /^#\/(\$defs|definitions)\/(.+)$/;

/**
 * What a local `$ref` (#/$defs/x or #/definitions/x) names, with the referring node's own keywords on top; else a 400.
 * Counted against the request's bound on what inlining copies.
 */
export function inlineRef(node: JsonSchema, ctx: Context): JsonSchema {
  const { $ref: _ref, ...siblings } = node;
  const definition = definitionOf(node.$ref as string, ctx);
  ctx.budget.countInlined(definition, ctx.param);
  return { ...definition, ...siblings };
}

/** The definition a local `$ref` (#/$defs/x or #/definitions/x) names; else a 400. */
export function definitionOf(ref: string, ctx: Context): JsonSchema {
  const match = DEFS_REF.exec(ref);
  const name = match ? decodedName(match[2]) : undefined;
  const target = name !== undefined && Object.hasOwn(ctx.defs, name) ? ctx.defs[name] : undefined;
  if (!target)
    throw GatewayError.badRequest(
      `Schema reference '${ref}' cannot be resolved; only local #/$defs references are supported.`,
      ctx.param,
      'invalid_value',
    );
  return target;
}

/**
 * Whether a `$ref` met at a node refers back to what is being read: the root (`#`, which holds every
 * node) or a definition being inlined further up. Inlining it again would not end.
 */
export function isCycle(ref: unknown, ctx: Context): boolean {
  return ref === '#' || (typeof ref === 'string' && ctx.refs.includes(ref));
}

/** The 400 for a schema that is itself without end (a definition made of itself, through `allOf` or as the root). */
export function selfMade(ref: string, ctx: Context): GatewayError {
  return GatewayError.badRequest(`Gemini does not accept this recursive schema ('${ref}' is made of itself).`, ctx.param, 'invalid_value');
}

/**
 * A node with `allOf` as one schema: its members (a member's `$ref` inlined, its shape checked
 * here since it is merged as it is) merged into the rest, with the refs inlined on the way.
 * A member referring back to what is being inlined (isCycle) is the caller's to handle first.
 */
export function mergedAllOf(node: JsonSchema, ctx: Context, place: Place | undefined): { merged: JsonSchema; refs: string[] } {
  const { allOf, ...rest } = node;
  let refs = ctx.refs;
  const members = (allOf as JsonSchema[]).map((member, i) => {
    if (typeof member !== 'object') return {};
    const at = { ...ctx, refs };
    const memberPlace = placeIn(place, 'allOf', i);
    checkShape(member, at, memberPlace);
    if (typeof member.$ref !== 'string') return member;
    const target = inlineRef(member, at);
    refs = [...refs, member.$ref];
    if (typeof target === 'object' && target !== null) checkShape(target, at, placeIn(memberPlace, '$ref', member.$ref));
    return target;
  });
  return { merged: mergeAll(rest, members), refs };
}

/** allOf members merged into one schema: their properties and required lists combined. */
function mergeAll(base: JsonSchema, members: JsonSchema[]): JsonSchema {
  const merged: JsonSchema = { ...base };
  for (const member of members) {
    for (const [key, value] of Object.entries(member)) {
      if (key === 'properties') merged.properties = { ...(merged.properties as object), ...(value as object) };
      else if (key === 'required') merged.required = [...((merged.required as string[]) ?? []), ...(value as string[])];
      else merged[key] ??= value;
    }
  }
  return merged;
}

/** A $ref's definition name, percent-decoded; a malformed escape names no definition. */
function decodedName(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}
