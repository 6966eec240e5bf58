import type { Schema } from '@google/genai';
import { GatewayError } from '../gateway-error';

type JsonSchema = Record<string, unknown>;

/** Annotations Gemini's Schema shares with JSON Schema, copied as they are. */
const KEPT = new Set([
  'description',
  'title',
  'pattern',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minProperties',
  'maxProperties',
  'default',
]);

/** `format` values Gemini accepts, by type; others become a note in the description. A Map: a `type` named like an Object method ("toString") finds nothing. */
const FORMATS = new Map<string, ReadonlySet<string>>([
  ['string', new Set(['enum', 'date-time'])],
  ['number', new Set(['float', 'double'])],
  ['integer', new Set(['int32', 'int64'])],
]);

/** JSON Schema's type names: a `type` naming another (`"strnig"`, `"STRING"`) is a 400, not sent on for Gemini to refuse. */
const JSON_TYPES: ReadonlySet<unknown> = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const TYPE_NAMES = `a JSON Schema type (${[...JSON_TYPES].join(', ')})`;

/** Gemini's names of JSON Schema's types (null is `nullable`), looked up rather than upper-cased for every node. */
const GEMINI_TYPES = new Map(['string', 'number', 'integer', 'boolean', 'array', 'object'].map((t) => [t, t.toUpperCase()]));

/**
 * Most nodes one translated schema may have. Inlining `$ref`s can multiply a small
 * schema (each definition using the previous one twice doubles it), so the work is
 * bounded by what it produces, not by the size of what the client sent.
 */
const MAX_SCHEMA_NODES = 10_000;

/**
 * Translates a JSON Schema (the dialect OpenAI tools and response formats use) into
 * Gemini's Schema, a subset of OpenAPI 3.0: `$ref`s into `$defs` are inlined,
 * `type` arrays and null variants become `nullable`, `oneOf` becomes `anyOf`,
 * `const` becomes a one-value enum (a null value makes it `nullable`), non-string enums and unsupported formats become
 * notes in the description, and keywords Gemini rejects (`additionalProperties`,
 * `$schema`, `examples`, ...) are left out. Recursive schemas cannot be inlined: a 400.
 * A keyword the translation reads that is not shaped as JSON Schema says (a `type` that is
 * not a string or names no JSON Schema type, a `required` that is not a list, ...) is a 400 naming `param` and where in
 * the schema it is: the schema comes from the client, and other vendors' APIs refuse it too.
 */
export function toGeminiSchema(schema: JsonSchema, param: string): Schema {
  const defs = { ...(schema.definitions as object), ...(schema.$defs as object) } as Record<string, JsonSchema>;
  return convert(schema, { defs, param, refs: [], nodes: { count: 0 } }, undefined);
}

interface Context {
  defs: Record<string, JsonSchema>;
  param: string;
  /** The $refs being inlined, outermost first, to refuse a cycle. */
  refs: string[];
  /** Nodes converted so far, shared by the whole translation. */
  nodes: { count: number };
}

/**
 * Where a node is inside the schema, for the 400: the place of its parent and the step from
 * there (`properties` + `a`, `anyOf` + 1, `items`, or `$ref` + the reference inlined). Kept as
 * links and made into text (`.properties.a.items`) only when a 400 needs it: a path string and a
 * context copy per node were most of the translation's cost on large tool schemas.
 */
interface Place {
  readonly up: Place | undefined;
  readonly keyword: string;
  readonly key?: string | number;
}

function placeIn(up: Place | undefined, keyword: string, key?: string | number): Place {
  return { up, keyword, key };
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

function convert(node: JsonSchema, ctx: Context, place: Place | undefined): Schema {
  if (typeof node !== 'object' || node === null) return {};
  if (++ctx.nodes.count > MAX_SCHEMA_NODES) {
    throw GatewayError.badRequest(
      `The schema expands to more than ${MAX_SCHEMA_NODES} nodes once its $refs are inlined; Gemini needs it inlined.`,
      ctx.param,
      'invalid_value',
    );
  }
  checkShape(node, ctx, place);
  if (typeof node.$ref === 'string') return convert(inlineRef(node, ctx), { ...ctx, refs: [...ctx.refs, node.$ref] }, place);
  if (Array.isArray(node.allOf)) {
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
      // What the $ref led to is merged as it is: its shape is checked here, not by a later convert.
      if (typeof target === 'object' && target !== null) checkShape(target, at, placeIn(memberPlace, '$ref', member.$ref));
      return target;
    });
    return convert(mergeAll(rest, members), { ...ctx, refs }, place);
  }

  const out: Schema = {};
  // A node has a few keys and KEPT a dozen: looking its own keys up in KEPT is the cheaper way round.
  for (const key of Object.keys(node)) if (KEPT.has(key) && node[key] !== undefined) (out as Record<string, unknown>)[key] = node[key];
  const notes: string[] = [];

  const variants = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  const types = (Array.isArray(node.type) ? node.type : node.type == null ? [] : [node.type]) as string[];
  if (types.includes('null') || variants?.some((v) => v.type === 'null')) out.nullable = true;
  const keyword = node.anyOf != null ? 'anyOf' : 'oneOf';
  const nonNull = variants?.map((v, i) => ({ v, at: placeIn(place, keyword, i) })).filter(({ v }) => v.type !== 'null');
  if (nonNull?.length === 1) return { ...convert({ ...nonNull[0].v }, ctx, nonNull[0].at), ...out };
  if (nonNull?.length) out.anyOf = nonNull.map(({ v, at }) => convert(v, ctx, at));

  // Gemini refuses `type` next to `anyOf`; the variants carry the types.
  const named = types.filter((t) => t !== 'null');
  if (named.length > 1) out.anyOf = named.map((t) => convert({ ...node, type: t, anyOf: undefined, oneOf: undefined }, ctx, place));
  else if (named.length === 1 && !out.anyOf) out.type = GEMINI_TYPES.get(named[0]) as Schema['type'];

  const type = named.length === 1 ? named[0] : undefined;
  if (typeof node.format === 'string') {
    if (type && FORMATS.get(type)?.has(node.format)) out.format = node.format;
    else notes.push(`format: ${node.format}`);
  }
  const values = node.const !== undefined ? [node.const] : (node.enum as unknown[] | undefined);
  if (values) {
    // A null value is Gemini's `nullable` (already set when the type allows null; null outside
    // the type is no answer), not an enum value: Gemini's enum holds strings only.
    const choices = values.filter((v) => v !== null);
    if (choices.length < values.length && !types.length) out.nullable = true;
    if (choices.length && choices.every((v) => typeof v === 'string')) out.enum = choices as string[];
    else notes.push(`one of: ${values.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  if (Array.isArray(node.examples) && node.examples.length) out.example = node.examples[0];

  if (node.properties && typeof node.properties === 'object') {
    const properties = node.properties as Record<string, JsonSchema>;
    const names = Object.keys(properties);
    const converted: Record<string, Schema> = {};
    for (const name of names) {
      const sub = convert(properties[name], ctx, placeIn(place, 'properties', name));
      // A property named __proto__ is a property like any other, not the object's prototype.
      if (name === '__proto__')
        Object.defineProperty(converted, name, { value: sub, enumerable: true, writable: true, configurable: true });
      else converted[name] = sub;
    }
    out.properties = converted;
    // Gemini answers in this order; JSON Schema clients expect the order they declared.
    if (names.length > 1) out.propertyOrdering = names;
    const required = (node.required as string[] | undefined)?.filter((name) => name in properties);
    if (required?.length) out.required = required;
  }
  if (node.items && typeof node.items === 'object') out.items = convert(node.items as JsonSchema, ctx, placeIn(place, 'items'));
  else if (Array.isArray(node.prefixItems)) {
    out.items = { anyOf: (node.prefixItems as JsonSchema[]).map((v, i) => convert(v, ctx, placeIn(place, 'prefixItems', i))) };
  }

  if (notes.length) out.description = [out.description, `(${notes.join('; ')})`].filter(Boolean).join(' ');
  return out;
}

/**
 * The keywords the translation reads as lists or strings, checked before it reads them: JSON
 * Schema's shapes (a `type` of 5 or a `required` of "a" is no schema), with JSON null taken as
 * absent, as the translation always has. Members of a list of schemas are objects or booleans.
 */
function checkShape(node: JsonSchema, ctx: Context, place: Place | undefined): void {
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

const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf'] as const;

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
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

/** A local `$ref` (#/$defs/x or #/definitions/x), with the referring node's own annotations on top. */
function inlineRef(node: JsonSchema, ctx: Context): JsonSchema {
  const ref = node.$ref as string;
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  const name = match ? decodedName(match[1]) : undefined;
  const target = name !== undefined && Object.hasOwn(ctx.defs, name) ? ctx.defs[name] : undefined;
  if (!target)
    throw GatewayError.badRequest(
      `Schema reference '${ref}' cannot be resolved; only local #/$defs references are supported.`,
      ctx.param,
      'invalid_value',
    );
  if (ctx.refs.includes(ref))
    throw GatewayError.badRequest(`Gemini does not accept recursive schemas ('${ref}' refers to itself).`, ctx.param, 'invalid_value');
  const { $ref: _ref, ...siblings } = node;
  return { ...target, ...siblings };
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
