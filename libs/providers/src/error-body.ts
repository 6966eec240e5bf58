import { StringDecoder } from 'node:string_decoder';
import { GatewayError } from './gateway-error';
import { textStart } from './text-start';
import { withoutKey } from './without-key';

/**
 * What of a failed answer's body is kept for its error, on every vendor's path (vendors' error objects are a
 * few hundred bytes): the rest of a larger body is read, for the connection's reuse, but not kept.
 */
export const ERROR_BODY_BYTES = 16 * 1024;

/**
 * The longest upstream message the client gets whole; a longer one is cut there, marked with CUT. Cut after the
 * provider key is taken out (withoutKey): a cut through the key would leave its beginning in.
 */
export const MAX_MESSAGE_CHARS = 2_000;

/** What ends a message the gateway cut (JSON-safe: it is written into a cut body's string too). */
export const CUT = ' … [cut]';

/** A failed answer's body as read: its text up to ERROR_BODY_BYTES, and whether it went on past them. */
export interface ErrorBodyText {
  text: string;
  cut: boolean;
}

/** A failed answer's body, read to its end and kept up to ERROR_BODY_BYTES. */
export async function readErrorBody(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<ErrorBodyText> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < ERROR_BODY_BYTES) parts.push(chunk);
    size += chunk.length;
  }
  const kept = Buffer.concat(parts).subarray(0, ERROR_BODY_BYTES);
  // A character the cap split is left out (the decoder holds its first bytes back), not read as U+FFFD.
  if (size > ERROR_BODY_BYTES) return { text: withoutSplitWord(new StringDecoder('utf8').write(kept)), cut: true };
  return { text: kept.toString('utf8'), cut: false };
}

/**
 * The error for a failed answer whose body came compressed (`coding`, its Content-Encoding; a proxy's gzip, unasked:
 * the gateway sends no Accept-Encoding and decodes no answer), undefined for a plain one. Its bytes are no message:
 * read as text they reached the client as garbage, and a gzip 400 as the client's own mistake. It gets what any
 * compressed answer gets (README, Providers): a 502 `upstream_invalid_response`, naming the status and the coding.
 */
export function codedErrorBody(provider: string, status: number, coding: string | string[] | null | undefined): GatewayError | undefined {
  const name = String(coding ?? '').trim();
  if (!name || name.toLowerCase() === 'identity') return undefined;
  return GatewayError.invalidResponse(
    `Provider ${provider} answered HTTP ${status} with a compressed body (Content-Encoding: ${textStart(name, 40)}), which the gateway does not decode.`,
  );
}

/** The most a cut body's last word loses: more than any provider key in any of its encodings (withoutKey). */
const SPLIT_WORD_CHARS = 512;

/**
 * A cut body's text without the word the cut went through (back to a space or a quote, SPLIT_WORD_CHARS at most):
 * a provider key the cut split would stay as a beginning withoutKey cannot recognise.
 */
function withoutSplitWord(text: string): string {
  let end = text.length;
  const stop = Math.max(0, end - SPLIT_WORD_CHARS);
  while (end > stop && !/[\s"]/.test(text[end - 1])) end--;
  return text.slice(0, end);
}

/**
 * An error body's JSON value, or undefined when it is none. A body cut at ERROR_BODY_BYTES is read as its JSON
 * closed where it was cut (closedAtCut): a message longer than the cap is what makes a vendor's error body that
 * long, and it reaches the client as the message's beginning, not as the raw text of the cut JSON.
 */
export function parseErrorBody({ text, cut }: ErrorBodyText): unknown {
  try {
    return JSON.parse(cut ? closedAtCut(text) : text);
  } catch {
    return undefined;
  }
}

/**
 * `text`, JSON cut short, closed where it was cut: the string it was cut in ends there, marked with CUT, and so
 * does each object and list left open. Cut anywhere else (in a key, after a colon), it still does not parse.
 */
function closedAtCut(text: string): string {
  const closers: string[] = [];
  let inString = false;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '"') inString = false;
      else if (c === '\\') {
        const next = i + (text[i + 1] === 'u' ? 6 : 2);
        // An escape the cut split is left out.
        if (next > text.length) {
          end = i;
          break;
        }
        i = next - 1;
      }
    } else if (c === '"') inString = true;
    else if (c === '{') closers.push('}');
    else if (c === '[') closers.push(']');
    else if (c === '}' || c === ']') closers.pop();
  }
  return text.slice(0, end) + (inString ? `${CUT}"` : '') + closers.reverse().join('');
}

/**
 * An upstream's message as the client gets it: without the provider key `apiKey` (withoutKey), then whole up to
 * MAX_MESSAGE_CHARS, cut there and marked past them. In that order, here only: a cut through the key would leave
 * its beginning in.
 */
export function upstreamMessage(text: string, apiKey?: string): string {
  const message = withoutKey(text, apiKey);
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  return textStart(message, MAX_MESSAGE_CHARS) + CUT;
}
