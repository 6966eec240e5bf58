import { canonicalJson } from '@gateway/cache';
import { DetailedError } from '../errors';
import type { MessagesRequest } from '../wire';
import type { StoredThread } from './thread-store';

/**
 * Fields a continue must send as the thread's create request did (Anthropic's thread fingerprint):
 * what the model is and how it answers. `system` and `tools` are the thread's own: a continue leaves
 * them out, and one that sends them must send the thread's.
 */
const FIXED_FIELDS = ['model', 'thinking', 'output_config'] as const;
/** The thread's own fields: a continue leaves them out, or sends the thread's. */
export const THREAD_FIELDS = ['system', 'tools'] as const;

/** The fixed fields in canonical JSON: their keys' order is no change. */
export function fingerprint(body: MessagesRequest): Record<string, string> {
  return Object.fromEntries(FIXED_FIELDS.map((field) => [field, canonicalJson(body[field] ?? null)]));
}

/**
 * A `system` or `tools` as compared: canonical JSON, a string prompt as the one text block it
 * stands for (Anthropic reads them alike), and without cache breakpoints, which mark where a
 * request may be cached, not what it says (the thread keeps its turns without them too).
 */
function comparable(value: MessagesRequest['system'] | MessagesRequest['tools']): string {
  const blocks = typeof value === 'string' ? [{ type: 'text', text: value }] : value;
  return canonicalJson(blocks?.map(({ cache_control: _, ...rest }: Record<string, unknown>) => rest) ?? null);
}

/** thread_fingerprint_mismatch naming each field that differs from the thread's (a `system` or `tools` sent only). */
export function refuseChangedFields(thread: StoredThread, request: MessagesRequest): void {
  const sent = fingerprint(request);
  const differing: string[] = FIXED_FIELDS.filter((field) => sent[field] !== thread.fingerprint[field]);
  for (const field of THREAD_FIELDS) {
    if (request[field] !== undefined && comparable(request[field]) !== comparable(thread[field])) differing.push(field);
  }
  if (!differing.length) return;
  throw new DetailedError(
    400,
    `A thread's fields must stay the same across its turns; differing field(s): ${differing.join(', ')}. ` +
      'Send the values the thread was created with, or replay the full conversation with thread: {"type": "create"} to change them.',
    { error_code: 'thread_fingerprint_mismatch' },
    differing[0]!,
  );
}
