import { keyWithValue } from './openai/json-bytes';

const MODEL_KEY = Buffer.from('"model"');
/** Where an answer names its model: the top of an OpenAI completion or chunk, of an Anthropic message or its message_start. */
const HEAD_BYTES = 4096;

/**
 * The model an answer (a JSON body, or a stream's first chunk) says produced it: the first
 * `"model"` key with a string value, read from the bytes without parsing the answer. Upstreams
 * answer with a dated version of the id they were asked for (`gpt-4o-mini` → `gpt-4o-mini-2024-07-18`;
 * Gemini's modelVersion is what its translation names). Undefined when the answer names none.
 */
export function answeredModel(answer: string | Uint8Array | undefined): string | undefined {
  if (answer === undefined) return undefined;
  const bytes =
    typeof answer === 'string'
      ? Buffer.from(answer.slice(0, HEAD_BYTES))
      : Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength);
  const end = Math.min(bytes.length, HEAD_BYTES);
  const key = keyWithValue(bytes, MODEL_KEY, 0x22 /* " */, 0, end);
  if (key < 0) return undefined;
  const open = bytes.indexOf(0x22, key + MODEL_KEY.length);
  for (let i = open + 1; i < end; i++) {
    if (bytes[i] === 0x5c /* \ */) i++;
    else if (bytes[i] === 0x22) return parsedString(bytes.toString('utf8', open, i + 1));
  }
  return undefined;
}

/** A JSON string's value; undefined when it is empty or not valid JSON (a bad escape: the upstream's, not worth failing for). */
function parsedString(json: string): string | undefined {
  try {
    return (JSON.parse(json) as string) || undefined;
  } catch {
    return undefined;
  }
}
