import { parseExactIntegers } from '@gateway/providers';

type Block = { input: object };

/**
 * A Messages body with its tool inputs' integers beyond 2^53 as the client wrote them (parseExactIntegers): the
 * body parser reads them as numbers, rounded (1234567890123456789 as ...800), and each input is written again,
 * in Anthropic's pass-through body and as a call's arguments for other vendors. Only a body whose blocks with an
 * `input` (tool_use, server_tool_use) hold such a number is parsed again, and those inputs are taken from that
 * parse; any other body is returned as it is. Looking through the inputs, not the whole text (a megabyte of
 * Claude Code history), costs next to nothing. The body's shape is not checked yet: anything else is left alone.
 */
export function withExactToolInputs(body: unknown, text: string): unknown {
  const turns = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(turns) || !turns.some((turn) => contentOf(turn).some((block) => hasInput(block) && roundedIn(block.input))))
    return body;
  const exact = (parseExactIntegers(text) as { messages: unknown[] }).messages;
  turns.forEach((turn, i) =>
    contentOf(turn).forEach((block, j) => {
      if (hasInput(block)) block.input = (contentOf(exact[i])[j] as Block).input;
    }),
  );
  return body;
}

function contentOf(turn: unknown): unknown[] {
  const content = (turn as { content?: unknown } | null)?.content;
  return Array.isArray(content) ? content : [];
}

function hasInput(block: unknown): block is Block {
  const input = (block as { input?: unknown } | null)?.input;
  return typeof input === 'object' && input !== null;
}

/** Whether a parsed value holds an integer past Number.MAX_SAFE_INTEGER: one JSON.parse may have rounded (1e20 too, needlessly). */
function roundedIn(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(roundedIn);
}
