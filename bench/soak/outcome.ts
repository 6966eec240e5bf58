/**
 * How one soak request ended, judged from what the client received. Anything that
 * is neither a complete success nor a clean OpenAI-shaped error is `lost`.
 */
export type Outcome =
  | { kind: 'ok'; cache: string }
  /** A clean OpenAI error: an HTTP error with OpenAI's error JSON, or an SSE error event that ends the stream. */
  | { kind: 'error'; code: string; status: number; inStream: boolean }
  /** The driver disconnected on purpose, mid-stream. */
  | { kind: 'aborted' }
  | { kind: 'lost'; why: LostReason };

export type LostReason =
  'hung' | 'transport' | 'truncated' | 'malformed_sse' | 'malformed_json' | 'malformed_error' | 'wrong_content' | `proxy_${string}`;

export interface Received {
  status: number;
  contentType: string;
  body: string;
  /** The `x-gateway-cache` header, when the gateway sent one. */
  cache?: string;
}

/** The answer the fake upstreams give to `prompt` (they echo the last user message). */
export function expectedAnswer(prompt: string): string {
  return `fake answer to: ${prompt}`;
}

/**
 * Classifies a finished response. The answer's text must be the answer to `prompt`,
 * cache hits included: the soak's prompts differ in their numbers and have no
 * paraphrases, so a semantic hit that answers another prompt is a false hit.
 */
export function classify(received: Received, stream: boolean, prompt: string): Outcome {
  const cache = received.cache ?? 'none';
  if (received.status !== 200) return httpError(received);
  if (!stream) {
    const completion = parseJson(received.body) as { object?: string; choices?: { message?: { content?: unknown } }[] } | undefined;
    if (completion?.object !== 'chat.completion') return lost('malformed_json');
    return contentOutcome(String(completion.choices?.[0]?.message?.content ?? ''), prompt, cache);
  }
  if (!received.contentType.startsWith('text/event-stream')) return lost('malformed_sse');
  return sseOutcome(received.body, prompt, cache);
}

function sseOutcome(body: string, prompt: string, cache: string): Outcome {
  const events = body.split('\n\n');
  // A well-formed stream ends with a blank line: whatever follows the last one is a cut event.
  if (events.pop() !== '') return lost('truncated');
  let text = '';
  for (let i = 0; i < events.length; i++) {
    const last = i === events.length - 1;
    const lines = events[i].split('\n');
    if (lines.some((line) => !line.startsWith('data: '))) return lost('malformed_sse');
    const data = lines.map((line) => line.slice(6)).join('\n');
    if (data === '[DONE]') return last ? contentOutcome(text, prompt, cache) : lost('malformed_sse');
    const event = parseJson(data) as { object?: string; error?: unknown; choices?: { delta?: { content?: string | null } }[] } | undefined;
    if (!event) return lost('malformed_sse');
    if (event.error !== undefined) {
      const code = errorCode(event);
      if (!code || !last) return lost('malformed_sse');
      return { kind: 'error', code, status: 200, inStream: true };
    }
    if (event.object !== 'chat.completion.chunk') return lost('malformed_sse');
    text += event.choices?.[0]?.delta?.content ?? '';
  }
  return lost('truncated');
}

function httpError(received: Received): Outcome {
  const code = errorCode(parseJson(received.body));
  return code ? { kind: 'error', code, status: received.status, inStream: false } : lost('malformed_error');
}

/** The error's code (or type when it has none) if `body` is OpenAI's error shape with all four fields, else undefined. */
function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const { message, type, param, code } = error;
  if (typeof message !== 'string' || typeof type !== 'string' || !('param' in error) || !('code' in error)) return undefined;
  if ((param !== null && typeof param !== 'string') || (code !== null && typeof code !== 'string')) return undefined;
  return (code as string | null) ?? type;
}

function contentOutcome(text: string, prompt: string, cache: string): Outcome {
  if (text !== expectedAnswer(prompt)) return lost('wrong_content');
  return { kind: 'ok', cache: cache.split(';')[0] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function lost(why: LostReason): Outcome {
  return { kind: 'lost', why };
}
