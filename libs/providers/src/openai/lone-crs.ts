const LF = 0x0a;
const CR = 0x0d;

/**
 * An SSE line may end with CR alone, as with LF or CRLF; the pass-through finds events by their
 * LF (partial-event.ts), so a stream whose lines end with CR went out only at its end, whole.
 * Each CR that ends a line alone is made an LF here. A CR last in a read is taken for a line end
 * at once (the event it ends goes out with that read, not with the next read), and an LF first
 * in the next read, the rest of a CRLF, is then dropped. A read without CR costs one search and
 * is not copied; a read whose CRs all begin a CRLF is not copied either.
 */
export class LoneCrs {
  private afterCr = false;

  toLf(read: Buffer): Buffer {
    if (this.afterCr) {
      this.afterCr = false;
      if (read[0] === LF) read = read.subarray(1);
    }
    let copy: Buffer | undefined;
    for (let cr = read.indexOf(CR); cr >= 0; cr = read.indexOf(CR, cr + 1)) {
      if (read[cr + 1] === LF) continue;
      if (cr === read.length - 1) this.afterCr = true;
      (copy ??= Buffer.from(read))[cr] = LF;
    }
    return copy ?? read;
  }
}
