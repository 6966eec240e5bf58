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

/** `format` values Gemini accepts, by type; others become a note in the description. */
const FORMATS: Record<string, ReadonlySet<string>> = {
  string: new Set(['enum', 'date-time']),
  number: new Set(['float', 'double']),
  integer: new Set(['int32', 'int64']),
};

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
 */
export function toGeminiSchema(schema: JsonSchema, param: string): Schema {
  const defs = { ...(schema.definitions as object), ...(schema.$defs as object) } as Record<string, JsonSchema>;
  return convert(schema, { defs, param, refs: [], nodes: { count: 0 } });
}

interface Context {
  defs: Record<string, JsonSchema>;
  param: string;
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
  if (typeof node.$ref === 'string') return convert(inlineRef(node, ctx), { ...ctx, refs: [...ctx.refs, node.$ref] });
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    let refs = ctx.refs;
    const members = (allOf as JsonSchema[]).map((member) => {
      if (typeof member.$ref !== 'string') return member;
      const target = inlineRef(member, { ...ctx, refs });
      refs = [...refs, member.$ref];
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
  const nonNull = variants?.filter((v) => v.type !== 'null');
  if (nonNull?.length === 1) return { ...convert({ ...nonNull[0] }, ctx), ...out };
  if (nonNull?.length) out.anyOf = nonNull.map((v) => convert(v, ctx));

  // Gemini refuses `type` next to `anyOf`; the variants carry the types.
  const named = types.filter((t) => t !== 'null');
  if (named.length > 1) out.anyOf = named.map((t) => convert({ ...node, type: t, anyOf: undefined, oneOf: undefined }, ctx));
  else if (named.length === 1 && !out.anyOf) out.type = named[0].toUpperCase() as Schema['type'];

  const type = named.length === 1 ? named[0] : undefined;
  if (typeof node.format === 'string') {
    if (type && FORMATS[type]?.has(node.format)) out.format = node.format;
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
    out.properties = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, convert(sub, ctx)]));
    const names = Object.keys(properties);
    // Gemini answers in this order; JSON Schema clients expect the order they declared.
    if (names.length > 1) out.propertyOrdering = names;
    const required = (node.required as string[] | undefined)?.filter((name) => name in properties);
    if (required?.length) out.required = required;
  }
  if (node.items && typeof node.items === 'object') out.items = convert(node.items as JsonSchema, ctx);
  else if (Array.isArray(node.prefixItems)) out.items = { anyOf: (node.prefixItems as JsonSchema[]).map((v) => convert(v, ctx)) };

  if (notes.length) out.description = [out.description, `(${notes.join('; ')})`].filter(Boolean).join(' ');
  return out;
}

/** A local `$ref` (#/$defs/x or #/definitions/x), with the referring node's own annotations on top. */
function inlineRef(node: JsonSchema, ctx: Context): JsonSchema {
  const ref = node.$ref as string;
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  const target = match ? ctx.defs[decodeURIComponent(match[1])] : undefined;
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
