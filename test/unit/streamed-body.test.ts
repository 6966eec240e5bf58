import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { StreamedBody } from '../../libs/providers/src/openai/dispatch';

/** A body with a controller that records aborts, as undici's would abort the request. */
function body(): { body: StreamedBody; aborted: Promise<void>; aborts: () => number } {
  const streamed = new StreamedBody();
  let aborts = 0;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => (onAbort = resolve));
  streamed.controller = {
    paused: false,
    abort: () => {
      aborts++;
      onAbort();
    },
    resume: () => {},
  } as unknown as Dispatcher.DispatchController;
  return { body: streamed, aborted, aborts: () => aborts };
}

describe('StreamedBody.release (the stream read to its end marker)', () => {
  it('an upstream that ends its body after the end marker is not aborted: its connection can serve the next request', () => {
    const b = body();
    b.body.data(Buffer.from('data: [DONE]\n\n'));
    b.body.release();
    b.body.data(Buffer.from(': bytes after the end are dropped\n\n'));
    b.body.end();
    assert.equal(b.aborts(), 0);
  });

  it('one that keeps it open is aborted after the grace, not at its idle timeout', async () => {
    const b = body();
    b.body.release();
    await b.aborted;
    assert.equal(b.aborts(), 1);
  });
});
