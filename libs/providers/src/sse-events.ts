import { SseLines } from './sse-lines';

/**
 * Server-sent events cut from a stream's reads, whatever their boundaries: each event's lines
 * (sse-lines.ts: LF, CRLF or CR ends, a long line scanned once), handed on once the blank line
 * that ends it came. An event the stream ends inside is never handed on, as SSE has it. Reads are
 * bytes (decoded as UTF-8, a character split between reads kept for the next) or text. The gateway's
 * readers of an OpenAI- or Anthropic-format stream that it forwards (the codecs' chunk reader, the
 * cache's collector, the Messages threads' assembler) share it: each read is scanned once, where
 * each of them used to prepend what was left of the last read and scan it all again.
 */
export class SseEvents {
  private readonly decoder = new TextDecoder();
  private readonly lines = new SseLines();
  /** The lines of the event not ended yet, and their length. */
  private event: string[] = [];
  private eventLength = 0;

  /**
   * Hands `event` the lines of each event `read` ends, in order: [] for a blank line that ends no
   * lines (a second blank line in a row). Stops when it answers false (the rest of the read is not read).
   */
  read(read: string | Uint8Array, event: (lines: string[]) => boolean | void): void {
    const text = typeof read === 'string' ? read : this.decoder.decode(read, { stream: true });
    this.lines.read(text, (line) => {
      if (line) {
        this.event.push(line);
        this.eventLength += line.length;
        return true;
      }
      const lines = this.event;
      this.event = [];
      this.eventLength = 0;
      return event(lines);
    });
  }

  /** The length (UTF-16 units) of the event not ended yet: its lines so far, and the line not ended. */
  get pendingLength(): number {
    return this.eventLength + this.lines.pendingLength;
  }
}

/** A line's `data:` value, trimmed, or undefined for another field's line. */
export function dataOf(line: string): string | undefined {
  return line.startsWith('data:') ? line.slice(5).trim() : undefined;
}
