import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { UsageCounts } from '@gateway/metrics';
import { nativeStream } from '../../libs/providers/src/anthropic/native-stream';
import { GatewayError } from '../../libs/providers/src/gateway-error';

const SEED = 20261203;

/** How an upstream writes SSE: Anthropic's own is LF, `event: ` and compact JSON; compatible servers vary, as SSE allows. */
interface Form {
  eol: string;
  space: boolean;
  compact: boolean;
}
const ANTHROPIC: Form = { eol: '\n', space: true, compact: true };

/** An Anthropic event stream as the API sends it (or `form`): text in pieces, usage at the start and in message_delta. */
function anthropicStream(
  pieces: string[],
  usage: { input: number; cacheRead: number; output: number; searches?: number; writes5m?: number; writes1h?: number },
  stop = true,
  { eol, space, compact }: Form = ANTHROPIC,
): string {
  const json = (data: object) => (compact ? JSON.stringify(data) : JSON.stringify(data, null, 1).replace(/\n\s*/g, ' '));
  const event = (type: string, data: object) => `event:${space ? ' ' : ''}${type}${eol}data: ${json({ type, ...data })}${eol}${eol}`;
  const [writes5m, writes1h] = [usage.writes5m ?? 0, usage.writes1h ?? 0];
  const start = {
    input_tokens: usage.input,
    cache_read_input_tokens: usage.cacheRead,
    cache_creation_input_tokens: writes5m + writes1h,
    cache_creation: { ephemeral_5m_input_tokens: writes5m, ephemeral_1h_input_tokens: writes1h },
    output_tokens: 1,
  };
  return [
    event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: start } }),
    event('ping', {}),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '', citations: null } }),
    ...pieces.map((text) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    event('content_block_stop', { index: 0 }),
    event('message_delta', {
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: usage.output, input_tokens: null, server_tool_use: { web_search_requests: usage.searches ?? 0 } },
    }),
    ...(stop ? [event('message_stop', {})] : []),
  ].join('');
}

/**
 * `wire` cut at `cuts`, read through nativeStream: what it sends, the usage it reports, or what it
 * throws. `keptOpen`: the upstream does not end its body after `wire`; reading on meets its idle timeout.
 */
async function pass(wire: string, cuts: number[], keptOpen = false, encoding: BufferEncoding = 'utf8') {
  const bytes = Buffer.from(wire, encoding);
  const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
  const parts = [0, ...points].map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length));
  const body = (async function* () {
    yield* parts;
    if (keptOpen) throw Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
  })();
  const stream = nativeStream('ant', body, (err) =>
    err instanceof GatewayError ? err : new GatewayError(502, String(err), 'upstream_error'),
  );
  const sent: Buffer[] = [];
  try {
    for await (const chunk of stream) sent.push(Buffer.from(chunk as Uint8Array));
    return { sent: Buffer.concat(sent).toString(), raw: Buffer.concat(sent), usage: stream.usage, error: undefined };
  } catch (error) {
    return { sent: Buffer.concat(sent).toString(), raw: Buffer.concat(sent), usage: stream.usage, error: error as GatewayError };
  }
}

/** `wire`'s line ends as LFs: a CR that ends a line alone goes out as an LF (the events are found by their LFs, lone-crs.ts). */
function lf(wire: string): string {
  return wire.replace(/\r\n?/g, '\n');
}

const text = fc.array(
  fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('event: message_stop\n\n', 'data: [DONE]')),
  {
    maxLength: 8,
  },
);
const usage = fc.record({
  input: fc.nat(5000),
  cacheRead: fc.nat(5000),
  output: fc.nat(5000),
  searches: fc.nat(20),
  writes5m: fc.nat(5000),
  writes1h: fc.nat(5000),
});
const cuts = fc.array(fc.nat(4000), { maxLength: 8 });
// Found by an independent check: CRLF or CR line ends, or `event:` without its space, failed every stream as cut (a 500).
const form = fc.oneof(
  { weight: 2, arbitrary: fc.constant(ANTHROPIC) },
  { weight: 3, arbitrary: fc.record({ eol: fc.constantFrom('\n', '\r\n', '\r'), space: fc.boolean(), compact: fc.boolean() }) },
);

describe('Anthropic`s own stream passed through (nativeStream)', () => {
  it('any split: the bytes go out as they came (lone CRs as LFs), and the usage is message_start`s and message_delta`s (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(text, usage, cuts, form, async (pieces, u, at, f) => {
        const wire = anthropicStream(pieces, u, true, f);
        const { sent, usage: counted, error } = await pass(wire, at);
        assert.equal(error, undefined);
        assert.equal(lf(sent), lf(wire));
        assert.equal(counted?.prompt_tokens, u.input + u.cacheRead + u.writes5m + u.writes1h);
        assert.equal(counted?.completion_tokens, u.output);
        assert.equal(counted?.prompt_tokens_details?.cached_tokens, u.cacheRead);
        // Cache writes, priced above input (costOf), with the 1-hour ones apart (absent when none).
        assert.equal(counted?.prompt_tokens_details?.cache_write_tokens, u.writes5m + u.writes1h);
        assert.equal((counted as UsageCounts).cache_write_1h_tokens, u.writes1h || undefined);
        // The web searches Anthropic ran, priced apart (costOf); absent, not 0, when there were none.
        assert.deepEqual((counted as UsageCounts).server_tool_use, u.searches ? { web_search_requests: u.searches } : undefined);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  // Found by an independent check: the stream waited for the upstream to close after
  // message_stop, and failed at the provider's idle timeout though the message was whole.
  it('an upstream that keeps the connection open after message_stop: the stream ends there, whole, with its usage', async () => {
    await fc.assert(
      // Found by the re-check: a keep-alive comment after message_stop, or the word message_stop cut between two
      // reads where it appears, left the client waiting for the upstream's timeout.
      fc.asyncProperty(text, usage, cuts, form, fc.boolean(), fc.boolean(), async (pieces, u, at, f, keepAlive, splitStop) => {
        const answer = anthropicStream(pieces, u, true, f);
        const wire = answer + (keepAlive ? `: keep-alive${f.eol}${f.eol}` : '');
        const bytes = Buffer.from(wire);
        const splits = [];
        for (let i = bytes.indexOf('message_stop'); splitStop && i >= 0; i = bytes.indexOf('message_stop', i + 1)) splits.push(i + 7);
        const { sent, usage: counted, error } = await pass(wire, [...at, ...splits], true);
        assert.equal(error, undefined);
        // The stream ends at message_stop: what of a keep-alive came in the same read goes on, nothing after it is read.
        assert.ok(lf(sent).startsWith(lf(answer)) && lf(wire).startsWith(lf(sent)), sent.slice(-80));
        assert.equal(counted?.completion_tokens, u.output);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('a stream without message_stop is cut, whatever its text says', async () => {
    await fc.assert(
      fc.asyncProperty(text, usage, cuts, form, async (pieces, u, at, f) => {
        const { error } = await pass(anthropicStream([...pieces, 'event: message_stop\n'], u, false, f), at);
        assert.ok(error instanceof GatewayError);
        assert.equal(error.code, 'upstream_stream_truncated');
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('an error as the first event throws before a byte is sent; a later one fails the stream as it says', async () => {
    const overloaded = `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`;
    const first = await pass(overloaded, [7]);
    assert.equal(first.sent, '');
    assert.deepEqual([first.error?.status, first.error?.code], [503, 'upstream_overloaded']);
    // Found by an independent check: a proxy's `: ping` comment before message_start was the answer's start.
    const pinged = await pass(`: ping\n\n: ping\n\n${overloaded}`, [8]);
    assert.equal(pinged.sent, '');
    assert.deepEqual([pinged.error?.status, pinged.error?.code], [503, 'upstream_overloaded']);

    const wire = anthropicStream(['Hel', 'lo'], { input: 3, cacheRead: 0, output: 2 }, false);
    const cut = wire.indexOf('event: content_block_stop');
    // Found by an independent check: the event went out as Anthropic sent it (with the provider's key when the upstream
    // repeated it), and the gateway's own error event after it: two error events, one unredacted.
    for (const error of [overloaded, overloaded.replace('event: error\n', ''), 'event: error\ndata: not json\n\n']) {
      // The read that holds the error event fails whole (cut here where it begins).
      const later = await pass(wire.slice(0, cut) + error + wire.slice(cut), [50, cut, cut + 20]);
      assert.equal(later.sent, wire.slice(0, cut), 'the events before it go out, not the error event');
      assert.deepEqual(
        [later.error?.status, later.error?.code],
        error.includes('Overloaded') ? [503, 'upstream_overloaded'] : [502, 'upstream_error'],
      );
    }
  });

  // Found by an independent check: after the first event, what the upstream sent went out unread; the Anthropic SDK
  // then threw a SyntaxError on it instead of the gateway's api_error.
  it('an event whose data is not a JSON object ends the stream with the upstream`s invalid answer, nothing of it relayed', async () => {
    const wire = anthropicStream(['Hel', 'lo'], { input: 3, cacheRead: 0, output: 2 });
    const cut = wire.indexOf('event: content_block_stop');
    for (const garbage of [
      'data: {not json\n\n',
      'data: \u0000\u00ff garbage\n\n',
      'event: ???\ndata: [[[\n\n',
      'data: <html>proxy</html>\n\n',
    ]) {
      const { sent, error } = await pass(wire.slice(0, cut) + garbage + wire.slice(cut), [60, cut, cut + 5]);
      assert.equal(sent, wire.slice(0, cut), JSON.stringify(garbage));
      assert.equal(error?.code, 'upstream_invalid_response');
      assert.match(error.message, /^Provider ant sent a stream event that is not a JSON object/);
    }
  });

  // Found by a second check: `event: ping` + `data:` ended the stream with an api_error; the OpenAI-format streams drop such
  // events, and the Anthropic SDK skips them (no data), as it does pings.
  // Found by an independent check (utf34 D1): `^`/`$` under the `m` flag match at U+2028 / U+2029, which JSON allows
  // unescaped in a string: a text delta holding one and then `event: error` failed the stream (a 500).
  it('a text with U+2028 / U+2029 and then `event: error` in it is text: the stream goes out whole', async () => {
    const wire = anthropicStream(['Log:\u2028event: error\u2029data: see above', ' done'], { input: 3, cacheRead: 0, output: 4 });
    const { sent, error } = await pass(wire, []);
    assert.equal(error, undefined);
    assert.equal(sent, wire);
  });

  // Found by an independent check (http34 D3): a last event without its blank line went out so, and SSE readers never
  // dispatch it (the client's stream had no message_stop).
  it('a message_stop the upstream did not end with a blank line goes out ended by one', async () => {
    const wire = anthropicStream(['hi'], { input: 3, cacheRead: 0, output: 4 });
    for (const cut of [2, 1]) {
      const { sent, error } = await pass(wire.slice(0, -cut), []);
      assert.equal(error, undefined);
      assert.equal(sent, wire);
    }
  });

  it('an event whose data is empty holds nothing: it is dropped, first or later, and the stream goes on', async () => {
    const wire = anthropicStream(['Hel', 'lo'], { input: 3, cacheRead: 0, output: 2 });
    const cut = wire.indexOf('event: content_block_stop');
    for (const empty of ['event: ping\ndata:\n\n', 'data: \n\n', 'event: ping\r\ndata:\r\n\r\n', 'data\n\n']) {
      for (const at of [0, cut]) {
        const { sent, error } = await pass(wire.slice(0, at) + empty + wire.slice(at), [at + 3, cut + 5]);
        assert.equal(error, undefined, `${JSON.stringify(empty)} at ${at}: ${error?.message}`);
        assert.equal(sent, wire, JSON.stringify(empty));
      }
    }
    // Before message_start it is no answer yet: an error after it is still refused before a byte is sent.
    const overloaded = `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`;
    const pinged = await pass(`event: ping\ndata:\n\n${overloaded}`, [20]);
    assert.equal(pinged.sent, '');
    assert.equal(pinged.error?.code, 'upstream_overloaded');
  });

  it('an event over 8 MiB, ended or not, ends the stream before it goes out (the bound every stream reader keeps)', async () => {
    const wire = anthropicStream(['Hel', 'lo'], { input: 3, cacheRead: 0, output: 2 });
    const cut = wire.indexOf('event: content_block_stop');
    const big = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x'.repeat(9 * 1024 * 1024) } })}`;
    for (const event of [`${big}\n\n${wire.slice(cut)}`, big]) {
      const all = wire.slice(0, cut) + event;
      const { sent, error } = await pass(
        all,
        Array.from({ length: 160 }, (_, i) => (i + 1) * 64 * 1024),
      );
      assert.equal(sent, wire.slice(0, cut));
      assert.equal(error?.code, 'upstream_invalid_response');
      assert.match(error.message, /more than 8 MiB without ending an event/);
    }
  });

  it('bytes that are not UTF-8 go out as U+FFFD, split between reads or not', async () => {
    const wire = Buffer.from(anthropicStream(['Hel\u4e2d', 'lo'], { input: 3, cacheRead: 0, output: 2 }));
    const at = wire.indexOf('\u4e2d');
    // The character cut short: its first two bytes, then an `A` where its third should be.
    const broken = Buffer.concat([wire.subarray(0, at + 2), Buffer.from('A'), wire.subarray(at + 3)]);
    for (const cuts of [[], [at + 1], [at + 2]]) {
      const { raw, error } = await pass(broken.toString('latin1'), cuts, false, 'latin1');
      assert.equal(error, undefined);
      assert.ok(isUtf8(raw), 'the client gets UTF-8');
      assert.equal(raw.toString(), broken.toString('utf8'));
      assert.ok(raw.toString().includes('Hel\ufffdA'));
    }
  });

  // Found by an independent check: the thinking block's empty start was held with the pings after it until a delta.
  // With its thinking omitted (`display: "omitted"`) that delta is the signature, after all the thinking: no first
  // byte and no keep-alive for minutes, and the attempt's timeout cut a healthy answer.
  it('a thinking block`s empty start goes out at once, with the pings after it, before its one signature delta', async () => {
    const ev = (type: string, body: object = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
    const head =
      ev('message_start', {
        message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], usage: { input_tokens: 5, output_tokens: 1 } },
      }) +
      ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
      ev('ping');
    const rest =
      ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } }) +
      ev('content_block_stop', { index: 0 }) +
      ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }) +
      ev('message_stop');
    let received: () => void = () => {};
    const firstChunk = new Promise<boolean>((resolve) => (received = () => resolve(true)));
    let sentBeforeTheRest: boolean | undefined;
    const body = (async function* () {
      yield Buffer.from(head);
      // The upstream thinks on until the client has its first chunk (or 5 s, where the head is held).
      let timer: NodeJS.Timeout | undefined;
      sentBeforeTheRest = await Promise.race([firstChunk, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5_000)))]);
      clearTimeout(timer);
      yield Buffer.from(rest);
    })();
    const sent: string[] = [];
    for await (const chunk of nativeStream('ant', body, (err) => err as GatewayError)) {
      sent.push(Buffer.from(chunk as Uint8Array).toString());
      received();
    }
    assert.equal(sentBeforeTheRest, true, 'the head went out before the signature came');
    assert.equal(sent[0], head);
    assert.equal(sent.join(''), head + rest);
  });
});
