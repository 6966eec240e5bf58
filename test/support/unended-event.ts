import assert from 'node:assert/strict';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { MAX_EVENT_BYTES } from '../../libs/providers/src/openai/partial-event';

/** The pieces a body that never ends its event repeats: one long line, lines of data, lines of no field. */
const PIECE = 256 * 1024;
const REPEATS: Record<string, string> = {
  'one line': 'D'.repeat(PIECE),
  'many data lines': 'data: x\n'.repeat(PIECE / 8),
  'many other lines': 'garbage\n'.repeat(PIECE / 8),
};
/** Where a body stops: a reader without the bound then ends (or fails for the unfinished event), instead of reading forever. */
const STOP_AT = 64 * 1024 * 1024;

/**
 * Asserts that `read`, given a body that opens an event (`opening`) and never ends it, fails it as
 * `provider`'s invalid answer once past MAX_EVENT_BYTES, having read at most a piece or two more.
 */
export async function assertUnendedEventRefused(
  provider: string,
  opening: string,
  read: (body: AsyncIterable<Uint8Array>) => AsyncIterator<unknown>,
  kinds = Object.keys(REPEATS),
): Promise<void> {
  for (const kind of kinds) {
    let sent = 0;
    const bytes = new TextEncoder().encode(REPEATS[kind]);
    const iterator = read(
      (async function* () {
        yield new TextEncoder().encode(opening);
        while (sent < STOP_AT) {
          sent += bytes.length;
          yield bytes;
        }
      })(),
    );
    await assert.rejects(
      (async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next());
      })(),
      (err) =>
        err instanceof GatewayError &&
        err.code === 'upstream_invalid_response' &&
        new RegExp(`Provider ${provider} sent more than 8 MiB`).test(err.message),
      kind,
    );
    assert.ok(sent <= MAX_EVENT_BYTES + 2 * PIECE, `${kind}: read ${sent} bytes`);
  }
}
