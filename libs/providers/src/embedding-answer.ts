import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { embeddingInputs, embeddingTokens } from './embedding-inputs';
import { GatewayError } from './gateway-error';
import { isSpace, valueAt } from './openai/json-bytes';
import type { JsonResult } from './provider';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from './wire';

/** One item of an upstream's `data`: its vector is a list of numbers, or float32 bytes in base64 (OpenAI's encoding). */
interface AnsweredItem {
  index?: unknown;
  embedding?: unknown;
}

/**
 * Checks an upstream's vectors, one item at a time, to be what the request asked for: one per
 * input, each non-empty and numeric, all of one width, that of `dimensions` when it was asked (a
 * server that ignored it is not guessed at by truncation). Anything else is a 502
 * upstream_invalid_response, which the router retries on the next deployment: a client that zips
 * its inputs with `data` would otherwise get the wrong vectors, and be billed for them. An item's
 * `index` says its input (an item without one: its place); indexes that are not each input's once
 * are refused too.
 */
class VectorCheck {
  private readonly count: number;
  /** The place in `data` of each input's vector. */
  private readonly places: number[] = [];
  private width: number | undefined;

  constructor(
    private readonly provider: string,
    private readonly request: EmbeddingCreateParams,
  ) {
    this.count = embeddingInputs(request.input).length;
  }

  refuse(why: string): GatewayError {
    return GatewayError.invalidResponse(`Provider ${this.provider} returned an unusable embeddings answer: ${why}.`);
  }

  /** Checks the item at `place` in `data`. */
  item(item: unknown, place: number): void {
    if (place >= this.count) throw this.refuse(`more than ${this.count} vectors for ${this.count} inputs`);
    if (typeof item !== 'object' || item === null) throw this.refuse(`item ${place} is not an object`);
    const { index = place, embedding } = item as AnsweredItem;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= this.count || this.places[index as number] >= 0)
      throw this.refuse(`item ${place} has index ${JSON.stringify(index)}`);
    const length = vectorLength(embedding);
    if (!length) throw this.refuse(`the vector of input ${index as number} is empty or not numeric`);
    if (this.width !== undefined && length !== this.width) throw this.refuse(`vectors of ${this.width} and of ${length} dimensions`);
    this.width = length;
    this.places[index as number] = place;
  }

  /** Once `found` items were checked: the place in `data` of each input's vector, in input order. */
  done(found: number): number[] {
    if (found !== this.count) throw this.refuse(`${found} vectors for ${this.count} inputs`);
    if (this.request.dimensions !== undefined && this.width !== this.request.dimensions)
      throw this.refuse(`vectors of ${this.width} dimensions where ${this.request.dimensions} were asked`);
    return this.places;
  }
}

/** A vector's width: numbers listed, or base64 of float32 bytes; 0 when it is neither (or empty). */
function vectorLength(embedding: unknown): number {
  if (typeof embedding === 'string') {
    // The bytes its length says; a character that is not base64 is skipped by the decoder, so fewer
    // come out (a native check: a regular expression took 0.3 s for 2,048 vectors of 1,536).
    const bytes = Buffer.byteLength(embedding, 'base64');
    return bytes % 4 === 0 && Buffer.from(embedding, 'base64').length === bytes ? bytes / 4 : 0;
  }
  if (!Array.isArray(embedding)) return 0;
  for (const value of embedding) if (typeof value !== 'number') return 0;
  return embedding.length;
}

/** An answer's `data` checked (VectorCheck), its items in input order. */
export function checkedVectors<T extends AnsweredItem>(provider: string, data: unknown, request: EmbeddingCreateParams): T[] {
  const check = new VectorCheck(provider, request);
  if (!Array.isArray(data)) throw check.refuse('no `data` list');
  (data as unknown[]).forEach((item, place) => check.item(item, place));
  return check.done(data.length).map((place) => data[place] as T);
}

/** The gateway's estimate of an embeddings request's tokens, for an answer without usage (billed as estimated). */
export function estimatedEmbeddingUsage(request: EmbeddingCreateParams): CreateEmbeddingResponse['usage'] {
  const tokens = embeddingTokens(embeddingInputs(request.input));
  return { prompt_tokens: tokens, total_tokens: tokens };
}

/** Bytes of an answer read between two yields to the event loop (a few milliseconds' work). */
const BYTES_PER_SLICE = 1 << 20;
const DATA_KEY = Buffer.from('"data"');
const USAGE_KEY = Buffer.from('"usage"');
const COMMA = Buffer.from(',');

/**
 * An OpenAI-format answer checked (VectorCheck) without parsing it whole: its `data` items are
 * found in the bytes and parsed one by one, with a yield to the event loop every BYTES_PER_SLICE,
 * so /health and other requests do not wait behind 2,048 vectors of 1,536 floats (62 MB: whole,
 * JSON.parse held the event loop about half a second). The bytes go on as they came when `data` is
 * in order and the answer has `usage`; otherwise its items are put in index order, and the estimate
 * the gateway bills is its usage (OpenAI's schema makes `usage` required; Gemini's answers carry
 * the same): in place of a `usage` that is none (`null`), so the answer has one `usage` key.
 */
export async function checkedEmbeddingsAnswer(provider: string, result: JsonResult, request: EmbeddingCreateParams): Promise<JsonResult> {
  const body =
    typeof result.body === 'string'
      ? Buffer.from(result.body)
      : Buffer.from(result.body.buffer, result.body.byteOffset, result.body.length);
  const check = new VectorCheck(provider, request);
  const data = await dataItems(body);
  if (!data) throw check.refuse('no `data` list');
  let sliced = 0;
  for (const [place, [start, end]] of data.items.entries()) {
    let item: unknown;
    try {
      item = JSON.parse(body.toString('utf8', start, end));
    } catch {
      throw check.refuse(`item ${place} is not JSON`);
    }
    check.item(item, place);
    sliced += end - start;
    if (sliced >= BYTES_PER_SLICE) {
      sliced = 0;
      await yieldToEventLoop();
    }
  }
  const places = check.done(data.items.length);
  const inOrder = places.every((place, index) => place === index);
  if (inOrder && result.usage) return result;
  const items = places.flatMap((place, index) => [...(index ? [COMMA] : []), body.subarray(...data.items[place])]);
  const edits: Edit[] = [{ from: data.open + 1, to: data.close, parts: items }];
  if (!result.usage) {
    const usage = JSON.stringify(estimatedEmbeddingUsage(request));
    const close = body.lastIndexOf(0x7d /* } */);
    edits.push(
      data.usage
        ? { from: data.usage[0], to: data.usage[1], parts: [Buffer.from(usage)] }
        : { from: close, to: close, parts: [Buffer.from(`,"usage":${usage}`)] },
    );
  }
  return { ...result, body: edited(body, edits) };
}

/** Bytes [from, to) of an answer replaced by `parts`. */
interface Edit {
  from: number;
  to: number;
  parts: Buffer[];
}

/** `body` with `edits` (which do not overlap) made. */
function edited(body: Buffer, edits: Edit[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const { from, to, parts: replacing } of edits.sort((a, b) => a.from - b.from)) {
    parts.push(body.subarray(at, from), ...replacing);
    at = to;
  }
  parts.push(body.subarray(at));
  return Buffer.concat(parts);
}

/** Where an answer's top-level `data` array is, its items and the value of its top-level `usage` key (the last). */
interface DataItems {
  open: number;
  close: number;
  items: [number, number][];
  usage?: [number, number];
}

/**
 * Where the top-level `data` array is (its `[` and `]`), where each of its items starts and ends,
 * and the top-level `usage` value, read byte by byte (strings skipped whole); undefined when the
 * answer has no `data`.
 */
async function dataItems(body: Buffer): Promise<DataItems | undefined> {
  let depth = 0;
  let found: DataItems | undefined;
  let inData = false;
  let itemStart = -1;
  let usage: [number, number] | undefined;
  let usageStart = -1;
  let nextYield = BYTES_PER_SLICE;
  for (let i = 0; i < body.length; i++) {
    if (i >= nextYield) {
      nextYield += BYTES_PER_SLICE;
      await yieldToEventLoop();
    }
    const byte = body[i];
    if (inData && depth === 2 && itemStart < 0 && !isSpace(byte) && byte !== 0x2c /* , */ && byte !== 0x5d /* ] */) itemStart = i;
    if (byte === 0x22 /* " */) {
      const close = closingQuote(body, i);
      if (close < 0) return undefined;
      // A key of the top-level object: `"data"` followed by `:` and `[`.
      if (depth === 1 && isKey(body, DATA_KEY, i, close)) {
        const value = valueAt(body, close + 1);
        if (value >= 0 && body[value] === 0x5b /* [ */) {
          found = { open: value, close: -1, items: [] };
          inData = true;
          depth++;
          i = value;
          continue;
        }
      }
      // Its value ends at the next `,` or `}` of the top-level object.
      if (depth === 1 && isKey(body, USAGE_KEY, i, close)) usageStart = valueAt(body, close + 1);
      i = close;
    } else if (byte === 0x5b /* [ */ && depth > 2) {
      // A list in an item (a vector of numbers) is skipped whole when it holds no list, object or string.
      const close = body.indexOf(0x5d /* ] */, i + 1);
      if (close > 0 && plain(body.subarray(i + 1, close))) i = close;
      else depth++;
    } else if (byte === 0x7b /* { */ || byte === 0x5b /* [ */) depth++;
    else if (byte === 0x7d /* } */ || byte === 0x5d /* ] */ || byte === 0x2c /* , */) {
      if (depth === 1 && usageStart >= 0) {
        usage = [usageStart, trimmedEnd(body, i)];
        usageStart = -1;
      }
      if (inData && depth === 2 && itemStart >= 0) {
        found!.items.push([itemStart, trimmedEnd(body, i)]);
        itemStart = -1;
      }
      if (byte === 0x2c) continue;
      if (inData && depth === 2) {
        found!.close = i;
        inData = false;
      }
      depth--;
    }
  }
  return found && found.close >= 0 ? { ...found, usage } : undefined;
}

/** Whether the string from `open` to `close` (its quotes) is `key`. */
function isKey(body: Buffer, key: Buffer, open: number, close: number): boolean {
  return close - open + 1 === key.length && body.compare(key, 0, key.length, open, close + 1) === 0;
}

/** Whether bytes hold no list, object or string (numbers, commas, spaces): found by native scans. */
function plain(bytes: Buffer): boolean {
  return !bytes.includes(0x5b /* [ */) && !bytes.includes(0x7b /* { */) && !bytes.includes(0x22 /* " */);
}

/** The quote closing the string that opens at `open`: the next one not escaped, or -1. */
function closingQuote(body: Buffer, open: number): number {
  for (let at = body.indexOf(0x22, open + 1); at >= 0; at = body.indexOf(0x22, at + 1)) {
    let slashes = 0;
    while (body[at - 1 - slashes] === 0x5c /* \ */) slashes++;
    if (slashes % 2 === 0) return at;
  }
  return -1;
}

/** The end of a value that ends before `at`, trailing JSON whitespace left out. */
function trimmedEnd(body: Buffer, at: number): number {
  let end = at;
  while (end > 0 && isSpace(body[end - 1])) end--;
  return end;
}
