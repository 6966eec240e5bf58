import { GatewayError } from '@gateway/providers';

/**
 * The most text a translated stream keeps until it ends, in characters (UTF-16 units): the Responses codec keeps
 * the whole answer for response.completed and what came for other items while a tool call streamed; the Messages
 * codec each call's arguments, the calls held back while another streams, and a refusal. How long a stream lasts
 * is the upstream's to decide (up to router.timeouts.streamMs), so an upstream that streamed a second call's
 * arguments without end grew the process by gigabytes, until V8 aborted it (independent check hostile27 D5).
 * 16 Mi characters is ~4 M tokens, far past any model's output.
 */
export const MAX_KEPT_CHARS = 16 * 1024 * 1024;

/** What keeping one more fragment apart costs beyond its text (the object that carries it), in characters. */
const FRAGMENT_COST = 64;

/** A stream's count of the text its codec keeps: past MAX_KEPT_CHARS the stream fails as an invalid answer. */
export class KeptText {
  private kept = 0;

  /** Counts `chars` more kept, and one fragment kept apart when `apart`. */
  keep(chars: number, apart = false): void {
    this.kept += apart ? chars + FRAGMENT_COST : chars;
    if (this.kept > MAX_KEPT_CHARS) {
      throw GatewayError.invalidResponse(
        `The upstream's streamed answer passed the ${MAX_KEPT_CHARS} characters a translated stream keeps until it ends (its text, tool calls and what waits behind a streaming tool call).`,
      );
    }
  }
}
