const LF = 0x0a;
const CR = 0x0d;

/**
 * Server-sent events' text cut into lines, whatever the read boundaries: a line ends with LF, CRLF
 * or CR (an LF first in a read, after a CR last in the one before, ends nothing). A line not ended
 * yet is kept in the pieces it came in and joined once its end comes, so a long one (a base64
 * image or a tool call's arguments in one event: up to 8 MiB) is scanned once, not again with
 * every read (that cost grew with the square of its length: one 4 MB event, ~3 s of CPU).
 */
export class SseLines {
  private pieces: string[] = [];
  private afterCr = false;

  /** Hands `line` each line `text` ends, in order; stops when it answers false (the rest is not read). */
  read(text: string, line: (line: string) => boolean | void): void {
    let start = this.afterCr && text.charCodeAt(0) === LF ? 1 : 0;
    this.afterCr = false;
    if (text.indexOf('\n', start) < 0 && text.indexOf('\r', start) < 0) {
      if (start < text.length) this.pieces.push(start ? text.slice(start) : text);
      return;
    }
    for (let i = start; i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (char !== LF && char !== CR) continue;
      const tail = text.slice(start, i);
      const whole = this.pieces.length ? this.pieces.join('') + tail : tail;
      this.pieces = [];
      if (char === CR) {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
      if (line(whole) === false) return;
    }
    if (start < text.length) this.pieces.push(text.slice(start));
  }

  /** The line the text ended without ending ('' if none), taken out. */
  rest(): string {
    const rest = this.pieces.join('');
    this.pieces = [];
    return rest;
  }
}
