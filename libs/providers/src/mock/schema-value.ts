import { GatewayError } from '../gateway-error';

type JsonSchema = Record<string, unknown>;

/** Steps into subschemas ($refs and combinators count) before a recursive schema is closed with its smallest value. */
const MAX_DEPTH = 12;
/**
 * Steps past which a schema is refused: only one with no finite value gets this deep (a $ref
 * that leads back to itself, a required property that contains itself), and following it
 * without end overflowed the stack.
 */
const MAX_NESTING = 256;
/** Values built for one schema: `$ref`s and `minItems` cannot make the work grow without bound. */
const MAX_NODES = 5_000;
/** Items made for an array, whatever its `minItems` says. */
const MAX_ITEMS = 64;
/** Characters a string is padded to, whatever its `minLength` says: the answer stays a few MB at most. */
const MAX_STRING = 1_000;

/** Strings for the `format`s structured-output clients declare (pydantic, zod), each valid for it. */
const FORMATTED: Record<string, string> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  duration: 'P1D',
  email: 'mock@example.com',
  hostname: 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
};

interface Context {
  root: JsonSchema;
  text: string;
  /** The request parameter the schema came in, for the 400. */
  param: string;
  depth: number;
  nodes: { count: number };
}

/**
 * A value that validates against `schema` (the JSON Schema subset OpenAI's
 * structured outputs and tool parameters use: types, enum/const, properties,
 * items, anyOf/oneOf/allOf, local $refs, lengths and numeric ranges), with `text`
 * in its strings, so structured-output clients can parse what the mock answers.
 * Work and size are bounded (MAX_NODES, MAX_DEPTH, MAX_ITEMS, MAX_STRING); `pattern` is not honoured.
 * A schema with no finite value is a 400 naming `param` (MAX_NESTING).
 */
export function valueFor(schema: unknown, text: string, param: string): unknown {
  const root = isSchema(schema) ? schema : {};
  return build(root, { root, text, param, depth: 0, nodes: { count: 0 } });
}

function build(schema: JsonSchema, ctx: Context): unknown {
  if (++ctx.nodes.count > MAX_NODES) return null;
  if (ctx.depth > MAX_NESTING) {
    const why = `The schema recurses without end (a $ref that leads back to itself, or a required property that contains itself).`;
    throw GatewayError.badRequest(why, ctx.param, 'invalid_value');
  }
  const deeper = { ...ctx, depth: ctx.depth + 1 };
  if (typeof schema.$ref === 'string') return build(resolve(schema.$ref, ctx.root), deeper);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants) && variants.length) return build(pickVariant(variants, ctx), deeper);
  if (Array.isArray(schema.allOf)) return build(mergeAll(schema, schema.allOf, ctx.root), deeper);

  const types = ([] as unknown[]).concat(schema.type ?? inferType(schema));
  // Past the depth limit a recursive schema ends with null where allowed, else an empty container.
  const type = ctx.depth >= MAX_DEPTH && types.includes('null') ? 'null' : (types.find((t) => t !== 'null') ?? types[0]);
  switch (type) {
    case 'object':
      return objectFor(schema, deeper);
    case 'array': {
      const min = ctx.depth >= MAX_DEPTH ? 0 : Math.min(MAX_ITEMS, Math.max(1, Number(schema.minItems) || 0));
      const count = Math.min(min, Number.isFinite(Number(schema.maxItems)) ? Number(schema.maxItems) : min);
      const items = isSchema(schema.items) ? schema.items : {};
      return Array.from({ length: count }, () => build(items, deeper));
    }
    case 'string':
      return stringFor(schema, ctx.text);
    case 'integer':
    case 'number':
      return numberFor(schema, type === 'integer');
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return ctx.text;
  }
}

function objectFor(schema: JsonSchema, ctx: Context): Record<string, unknown> {
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const out: Record<string, unknown> = {};
  // The required properties (strict schemas require them all; an optional one may mean
  // something the caller did not ask for, like a tool's output limit), or every declared
  // one when the schema requires none; then any required one left undeclared.
  const wanted = Array.isArray(schema.required) ? required : Object.keys(properties);
  for (const [name, sub] of Object.entries(properties)) {
    if (wanted.includes(name) && (ctx.depth < MAX_DEPTH || required.includes(name))) out[name] = build(isSchema(sub) ? sub : {}, ctx);
  }
  for (const name of required) if (!(name in out)) out[name] = ctx.text;
  return out;
}

function stringFor(schema: JsonSchema, text: string): string {
  // Own entries only: a format named `toString` is no format the mock knows, not Object's method.
  const formatted = typeof schema.format === 'string' && Object.hasOwn(FORMATTED, schema.format) ? FORMATTED[schema.format] : undefined;
  let value = formatted ?? text;
  const min = Number(schema.minLength) || 0;
  const max = Number.isFinite(Number(schema.maxLength)) ? Number(schema.maxLength) : Infinity;
  if (value.length < min) value = value.padEnd(Math.min(min, MAX_STRING), '.');
  if (value.length > max) value = [...value].slice(0, max).join('');
  return value;
}

function numberFor(schema: JsonSchema, integer: boolean): number {
  const num = (key: string) => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  const low = Math.max(num('minimum') ?? -Infinity, (num('exclusiveMinimum') ?? -Infinity) + (integer ? 1 : 1e-6));
  const high = Math.min(num('maximum') ?? Infinity, (num('exclusiveMaximum') ?? Infinity) - (integer ? 1 : 1e-6));
  let value = Math.min(Math.max(1, low), high);
  if (integer) value = Math.ceil(value) <= high ? Math.ceil(value) : Math.floor(value);
  const step = num('multipleOf');
  if (step) value = Math.ceil(value / step) * step;
  return value;
}

function inferType(schema: JsonSchema): string {
  if (schema.properties || schema.required) return 'object';
  if (schema.items) return 'array';
  return 'string';
}

/** The first variant that is not null: a useful value rather than an empty one. */
function pickVariant(variants: unknown[], ctx: Context): JsonSchema {
  const schemas = variants.filter(isSchema);
  const nonNull = schemas.find((v) => v.type !== 'null');
  return (ctx.depth >= MAX_DEPTH ? schemas.find((v) => v.type === 'null') : undefined) ?? nonNull ?? schemas[0] ?? {};
}

function mergeAll(schema: JsonSchema, members: unknown[], root: JsonSchema): JsonSchema {
  const { allOf: _allOf, ...merged } = schema;
  for (const member of members.filter(isSchema)) {
    const target = typeof member.$ref === 'string' ? resolve(member.$ref, root) : member;
    for (const [key, value] of Object.entries(target)) {
      if (key === 'properties') merged.properties = { ...(merged.properties as object), ...(value as object) };
      // A `required` that is no list requires nothing, as objectFor reads it.
      else if (key === 'required') merged.required = [...listOf(merged.required), ...listOf(value)];
      else merged[key] ??= value;
    }
  }
  return merged;
}

/** A local JSON pointer (`#/$defs/Name`, `#/definitions/Name`, `#`); anything else is an unconstrained schema. */
function resolve(ref: string, root: JsonSchema): JsonSchema {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const segment of ref.slice(1).split('/').filter(Boolean)) {
    const key = decoded(segment)?.replace(/~1/g, '/').replace(/~0/g, '~');
    if (key === undefined) return {};
    node = isSchema(node) ? node[key] : undefined;
  }
  return isSchema(node) ? node : {};
}

/** A percent-encoded pointer segment, decoded; a malformed escape names nothing. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
