import { GatewayError } from './gateway-error';

/**
 * Most nodes the translation of one request's JSON schemas (every tool's parameters and the
 * response format) may produce in all. Each schema has its own bound (MAX_SCHEMA_NODES), but
 * with up to 1,000 tools that alone let a 230 KB request inline 36 MB of schema on the event loop.
 */
export const MAX_REQUEST_SCHEMA_NODES = 50_000;

/**
 * Most bytes inlining `$ref`s may copy into one request's schemas: each inlining counts its
 * definition's JSON size. Node counts alone do not bound bytes (one long description inlined
 * at every node); with this, what goes upstream is about the request's schemas plus at most
 * as much again as the default body limit (4 MiB).
 */
export const MAX_REQUEST_INLINED_BYTES = 4 * 1024 * 1024;

/**
 * What translating one request's JSON schemas has produced so far, shared by all of them and
 * counted as it goes, so that the translation stops at the first node or inlining past a
 * bound (a 400 naming the schema it was in) instead of building everything and measuring after.
 */
export class SchemaBudget {
  private nodes = 0;
  private inlinedBytes = 0;
  /** Each definition's JSON size, measured once however often it is inlined. */
  private readonly sizes = new WeakMap<object, number>();

  /** Counts one node produced for the schema at `param`; past MAX_REQUEST_SCHEMA_NODES, a 400. */
  countNode(param: string): void {
    if (++this.nodes > MAX_REQUEST_SCHEMA_NODES)
      throw this.overBound(`produce more than ${MAX_REQUEST_SCHEMA_NODES} schema nodes in all`, param);
  }

  /** Counts `definition` inlined once more into the schema at `param`; past MAX_REQUEST_INLINED_BYTES, a 400. */
  countInlined(definition: unknown, param: string): void {
    this.inlinedBytes += typeof definition === 'object' && definition !== null ? this.sizeOf(definition) : jsonSize(definition);
    if (this.inlinedBytes > MAX_REQUEST_INLINED_BYTES)
      throw this.overBound(`copy more than ${MAX_REQUEST_INLINED_BYTES} bytes of $ref definitions in all`, param);
  }

  private sizeOf(definition: object): number {
    let size = this.sizes.get(definition);
    if (size === undefined) this.sizes.set(definition, (size = jsonSize(definition)));
    return size;
  }

  private overBound(what: string, param: string): GatewayError {
    return GatewayError.badRequest(
      `The request's JSON schemas, once their $refs are inlined, would ${what}: the gateway's bound for one request ` +
        `(README, Request limits). Send fewer or smaller tool schemas, or fewer $refs.`,
      param,
      'invalid_value',
    );
  }
}

/** A value's size as JSON text (a definition is any JSON value the client sent). */
function jsonSize(value: unknown): number {
  return JSON.stringify(value)?.length ?? 0;
}
