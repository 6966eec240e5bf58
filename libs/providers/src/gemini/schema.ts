import type { Schema } from '@google/genai';
import { GatewayError } from '../gateway-error';

type JsonSchema = Record<string, unknown>;

/** Annotations Gemini's Schema shares with JSON Schema, copied as they are. */
const KEPT = [
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
] as const;

/** `format` values Gemini accepts, by type; others become a note in the description. A Map: a `type` named like an Object method ("toString") finds nothing. */
const FORMATS = new Map<string, ReadonlySet<string>>([
  ['string', new Set(['enum', 'date-time'])],
  ['number', new Set(['float', 'double'])],
  ['integer', new Set(['int32', 'int64'])],
]);

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
 * not a string, a `required` that is not a list, ...) is a 400 naming `param` and where in
 * the schema it is: the schema comes from the client, and other vendors' APIs refuse it too.
 */
export function toGeminiSchema(schema: JsonSchema, param: string): Schema {
  const defs = { ...(schema.definitions as object), ...(schema.$defs as object) } as Record<string, JsonSchema>;
  return convert(schema, { defs, param, path: '', refs: [], nodes: { count: 0 } });
}

interface Context {
  defs: Record<string, JsonSchema>;
  param: string;
  /** Where the node is inside the schema (`.properties.a.items`), for the 400. */
  path: string;
  /** The $refs being inlined, outermost first, to refuse a cycle. */
  refs: string[];
  /** Nodes converted so far, shared by the whole translation. */
  nodes: { count: number };
}

function convert(node: JsonSchema, ctx: Context): Schema {
  if (typeof node !== 'object' || node === null) return {};
  if (++ctx.nodes.count > MAX_SCHEMA_NODES) {
    throw GatewayError.badRequest(
      `The schema expands to more than ${MAX_SCHEMA_NODES} nodes once its $refs are inlined; Gemini needs it inlined.`,
      ctx.param,
      'invalid_value',
    );
  }
  checkShape(node, ctx);
  if (typeof node.$ref === 'string') return convert(inlineRef(node, ctx), { ...ctx, refs: [...ctx.refs, node.$ref] });
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    let refs = ctx.refs;
    const members = (allOf as JsonSchema[]).map((member, i) => {
      if (typeof member !== 'object') return {};
      const at = { ...ctx, refs, path: `${ctx.path}.allOf[${i}]` };
      checkShape(member, at);
      if (typeof member.$ref !== 'string') return member;
      const target = inlineRef(member, at);
      refs = [...refs, member.$ref];
      // What the $ref led to is merged as it is: its shape is checked here, not by a later convert.
      if (typeof target === 'object' && target !== null) checkShape(target, { ...at, path: `${at.path}(${member.$ref})` });
      return target;
    });
    return convert(mergeAll(rest, members), { ...ctx, refs });
  }

  const out: Schema = {};
  for (const key of KEPT) if (node[key] !== undefined) (out as Record<string, unknown>)[key] = node[key];
  const notes: string[] = [];

  const variants = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  const types = ([] as unknown[]).concat(node.type ?? []) as string[];
  if (types.includes('null') || variants?.some((v) => v.type === 'null')) out.nullable = true;
  const keyword = node.anyOf != null ? 'anyOf' : 'oneOf';
  const nonNull = variants
    ?.map((v, i) => ({ v, at: { ...ctx, path: `${ctx.path}.${keyword}[${i}]` } }))
    .filter(({ v }) => v.type !== 'null');
  if (nonNull?.length === 1) return { ...convert({ ...nonNull[0].v }, nonNull[0].at), ...out };
  if (nonNull?.length) out.anyOf = nonNull.map(({ v, at }) => convert(v, at));

  // Gemini refuses `type` next to `anyOf`; the variants carry the types.
  const named = types.filter((t) => t !== 'null');
  if (named.length > 1) out.anyOf = named.map((t) => convert({ ...node, type: t, anyOf: undefined, oneOf: undefined }, ctx));
  else if (named.length === 1 && !out.anyOf) out.type = named[0].toUpperCase() as Schema['type'];

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
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, sub]) => [name, convert(sub, { ...ctx, path: `${ctx.path}.properties.${name}` })]),
    );
    const names = Object.keys(properties);
    // Gemini answers in this order; JSON Schema clients expect the order they declared.
    if (names.length > 1) out.propertyOrdering = names;
    const required = (node.required as string[] | undefined)?.filter((name) => name in properties);
    if (required?.length) out.required = required;
  }
  if (node.items && typeof node.items === 'object') out.items = convert(node.items as JsonSchema, { ...ctx, path: `${ctx.path}.items` });
  else if (Array.isArray(node.prefixItems)) {
    out.items = { anyOf: (node.prefixItems as JsonSchema[]).map((v, i) => convert(v, { ...ctx, path: `${ctx.path}.prefixItems[${i}]` })) };
  }

  if (notes.length) out.description = [out.description, `(${notes.join('; ')})`].filter(Boolean).join(' ');
  return out;
}

/**
 * The keywords the translation reads as lists or strings, checked before it reads them: JSON
 * Schema's shapes (a `type` of 5 or a `required` of "a" is no schema), with JSON null taken as
 * absent, as the translation always has. Members of a list of schemas are objects or booleans.
 */
function checkShape(node: JsonSchema, ctx: Context): void {
  const refuse = (keyword: string, shape: string) =>
    GatewayError.badRequest(
      `Invalid JSON Schema: '${keyword}' ${ctx.path ? `at ${ctx.path.slice(1)} ` : ''}must be ${shape}.`,
      ctx.param,
      'invalid_value',
    );
  const isString = (v: unknown) => typeof v === 'string';
  if (node.type != null && !isString(node.type) && !(Array.isArray(node.type) && node.type.every(isString)))
    throw refuse('type', 'a string or an array of strings');
  if (node.required != null && !(Array.isArray(node.required) && node.required.every(isString)))
    throw refuse('required', 'an array of strings');
  if (node.enum != null && !Array.isArray(node.enum)) throw refuse('enum', 'an array');
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = node[keyword];
    if (list != null && !(Array.isArray(list) && list.every(isSubschema))) throw refuse(keyword, 'an array of schemas');
  }
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
