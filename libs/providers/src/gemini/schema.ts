import { type Schema, Type } from '@google/genai';
import { SchemaBudget } from '../schema-budget';
import { toGeminiJsonSchema } from './json-schema';
import {
  checkShape,
  type Context,
  contextFor,
  countNode,
  inlineRef,
  isCycle,
  isSchemaObject,
  isTop,
  type JsonSchema,
  MAX_SCHEMA_NODES,
  mergedAllOf,
  type Place,
  placeIn,
} from '../translation/schema-reading';

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

/** Gemini's names of JSON Schema's types (null is `nullable`), looked up rather than upper-cased for every node. */
const GEMINI_TYPES = new Map(['string', 'number', 'integer', 'boolean', 'array', 'object'].map((t) => [t, t.toUpperCase()]));

/** A client's JSON Schema as Gemini takes it: translated into its OpenAPI subset, or as JSON Schema (json-schema.ts). */
export type GeminiSchema = { subset: Schema; json?: undefined } | { json: JsonSchema; subset?: undefined };

/**
 * What the subset cannot say (an object without properties, a recursive schema): thrown by
 * the translation where it meets it, so that the client's schema goes as JSON Schema instead.
 */
class BeyondSubset extends Error {}

/**
 * A client's JSON Schema (the dialect OpenAI tools and response formats use) for Gemini, at `param`.
 * `parameters`: it declares a function's parameters, whose top-level object without properties (and
 * without a schema for additional ones) is a function without parameters (request.ts), not a map.
 *
 * This is the one place that decides between Gemini's two schema fields. The translation into the
 * OpenAPI subset (`responseSchema`, a declaration's `parameters`), which every Gemini model takes, is
 * kept wherever it says what the client's schema says: schemas it translated before go as they went.
 * What the subset cannot express goes as JSON Schema (`responseJsonSchema`, `parametersJsonSchema`,
 * which every actively supported Gemini model takes since Google's November 2025 update, blog.google
 * "Improving Structured Outputs in the Gemini API"; a Gemini 2.5 preview before): an object without
 * properties (a map, `z.record` / `Dict[str, X]`: `additionalProperties` and no `properties`; or any
 * object), which Gemini refuses in the subset
 * ("properties: should be non-empty for OBJECT type"), an array without `items` (of anything), which Gemini
 * refuses there too ("items: missing field"), and a recursive schema (a `$ref` cycle), which
 * the subset cannot inline. Objects with properties and a schema for additional ones stay in the
 * subset (accepted there, without the extra keys, as before), and so do tuples and other keywords the
 * subset approximates or leaves out. A schema whose `$ref`s expand past MAX_SCHEMA_NODES before the
 * translation meets what it cannot say stays the 400 it was; the JSON Schema sent is bounded the same way.
 * `budget`: the request's (schema-budget.ts), one for all its schemas, so that their total is bounded too; the nodes
 * of a schema tried in the subset and then sent as JSON Schema count for both, as both were made.
 */
export function toGeminiSchema(schema: JsonSchema, param: string, parameters = false, budget = new SchemaBudget()): GeminiSchema {
  try {
    return { subset: convert(schema, { ...contextFor(schema, param, budget), parameters }, undefined) };
  } catch (err) {
    if (err instanceof BeyondSubset) return { json: toGeminiJsonSchema(schema, param, budget) };
    throw err;
  }
}

interface SubsetContext extends Context {
  /** The schema declares a function's parameters (toGeminiSchema). */
  parameters: boolean;
}

/**
 * Translates into Gemini's Schema, a subset of OpenAPI 3.0: `$ref`s into `$defs` are inlined,
 * `type` arrays and null variants become `nullable`, `oneOf` becomes `anyOf`,
 * `const` becomes a one-value enum (a null value makes it `nullable`), non-string enums and unsupported formats become
 * notes in the description, and keywords Gemini rejects (`additionalProperties`,
 * `$schema`, `examples`, ...) are left out. A keyword the translation reads that is not shaped as JSON Schema says (a `type` that is
 * not a string or names no JSON Schema type, a `required` that is not a list, ...) is a 400 naming `param` and where in
 * the schema it is: the schema comes from the client, and other vendors' APIs refuse it too.
 */
function convert(node: JsonSchema, ctx: SubsetContext, place: Place | undefined): Schema {
  if (typeof node !== 'object' || node === null) return {};
  countNode(ctx, `expands to more than ${MAX_SCHEMA_NODES} nodes once its $refs are inlined; Gemini's OpenAPI subset needs them inlined`);
  checkShape(node, ctx, place);
  if (typeof node.$ref === 'string') {
    if (isCycle(node.$ref, ctx)) throw new BeyondSubset();
    return convert(inlineRef(node, ctx), { ...ctx, refs: [...ctx.refs, node.$ref] }, place);
  }
  if (Array.isArray(node.allOf)) {
    // A member referring back is recursion as a bare $ref is: pydantic v1 writes every described reference `allOf: [{$ref}]`.
    if (node.allOf.some((member) => isSchemaObject(member) && isCycle(member.$ref, ctx))) throw new BeyondSubset();
    const { merged, refs } = mergedAllOf(node, ctx, place);
    return convert(merged, { ...ctx, refs }, place);
  }

  const out: Schema = {};
  // A node has a few keys and KEPT a dozen: looking its own keys up in KEPT is the cheaper way round.
  for (const key of Object.keys(node)) if (KEPT.has(key) && node[key] !== undefined) (out as Record<string, unknown>)[key] = node[key];
  const notes: string[] = [];

  const variants = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  const types = (Array.isArray(node.type) ? node.type : node.type == null ? [] : [node.type]) as string[];
  if (types.includes('null') || variants?.some((v) => v.type === 'null')) out.nullable = true;
  const keyword = node.anyOf != null ? 'anyOf' : 'oneOf';
  const nonNull = variants?.map((v, i) => ({ v, i })).filter(({ v }) => v.type !== 'null');
  // The one non-null variant stands for this node: it is at this node's place in the schema (isTop).
  if (nonNull?.length === 1) return { ...convert({ ...nonNull[0].v }, ctx, placeIn(place, keyword, nonNull[0].i, true)), ...out };
  if (nonNull?.length) out.anyOf = nonNull.map(({ v, i }) => convert(v, ctx, placeIn(place, keyword, i)));

  const values = node.const !== undefined ? [node.const] : (node.enum as unknown[] | undefined);
  // Gemini refuses `type` next to `anyOf`; the variants carry the types, each with the values of its type (a
  // type none of the values has admits nothing, and Gemini refuses an enum on a type other than STRING).
  const listed = types.filter((t) => t !== 'null');
  const typed = listed.filter((t) => values?.some((v) => isOfType(v, t)));
  const named = listed.length > 1 && typed.length ? typed : listed;
  if (named.length > 1) {
    out.anyOf = named.map((t) =>
      convert(
        { ...node, type: t, anyOf: undefined, oneOf: undefined, const: undefined, enum: values?.filter((v) => isOfType(v, t)) },
        ctx,
        place,
      ),
    );
  } else if (named.length === 1 && !out.anyOf) out.type = GEMINI_TYPES.get(named[0]) as Schema['type'];

  const type = named.length === 1 ? named[0] : undefined;
  if (typeof node.format === 'string') {
    if (type && FORMATS.get(type)?.has(node.format)) out.format = node.format;
    else notes.push(`format: ${node.format}`);
  }
  if (values && named.length <= 1) {
    // A null value is Gemini's `nullable` (already set when the type allows null; null outside
    // the type is no answer), not an enum value: Gemini's enum holds strings only.
    const choices = values.filter((v) => v !== null);
    if (choices.length < values.length && !types.length) out.nullable = true;
    if (choices.length && choices.every((v) => typeof v === 'string')) {
      out.enum = choices as string[];
      // Gemini takes an enum on STRING only ("enum: only allowed for STRING type"), and JSON Schema needs no
      // `type` beside a string enum or const (hand-written MCP schemas, an `anyOf` of consts).
      if (!out.anyOf) out.type = Type.STRING;
    } else notes.push(`one of: ${values.map((v) => JSON.stringify(v)).join(', ')}`);
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
  if (out.type === Type.OBJECT && !Object.keys(out.properties ?? {}).length && !parameterless(node, ctx, place)) throw new BeyondSubset();
  // JSON Schema's array of anything; Gemini refuses an ARRAY without `items` ("items: missing field").
  if (out.type === Type.ARRAY && !out.items) throw new BeyondSubset();
  return out;
}

/**
 * An object without properties that is a function without parameters, declared without a schema
 * (request.ts), as it always was: the top of a function's parameters, unless it gives a schema
 * for additional properties (a map of parameters, which the subset cannot declare). The empty
 * schema `{}` allows any value, as `true` does (zod 4 writes z.looseObject({}) so, zod 3 `true`).
 */
function parameterless(node: JsonSchema, ctx: SubsetContext, place: Place | undefined): boolean {
  const values = node.additionalProperties;
  return ctx.parameters && isTop(place) && !(isSchemaObject(values) && Object.keys(values).length);
}

/** Whether `value` is of the JSON Schema type `type`. */
function isOfType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'null') return value === null;
  return typeof value === type;
}
