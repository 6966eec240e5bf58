/**
 * One request's answers from its upstream calls that an attempt was charged for though it failed (a Gemini embeddings
 * request's batches answered before another batch failed), kept across its attempts: a later attempt that would be
 * given the same answers takes them rather than asks (and pays) again. The caller makes one per request and hands it
 * to each attempt (CallContext.kept), so it goes with the request. It holds one source's answers: asking for another
 * source's drops them (their answers are not the new source's), so it never holds more than one answer's worth.
 */
export class KeptAnswers {
  private source: string | undefined;
  private answers = new Map<number, unknown>();

  /** The answers kept from `source` by their call's place in the request; live: what is set in it stays for later attempts. */
  of<T>(source: string): Map<number, T> {
    if (source !== this.source) {
      this.source = source;
      this.answers = new Map();
    }
    return this.answers as Map<number, T>;
  }
}
