import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import { isReplyError, type RedisClient, type RedisService } from '@gateway/redis';
import { compareAndSet } from './key-cas';

/** How long a change whose landing answer was lost tries to settle it (settle) before it answers. */
const SETTLE_MS = 5_000;
/** How long a change answered unsettled goes on being settled (settleLater). */
const SETTLE_LATER_MS = 5 * 60_000;
const SETTLE_RETRY_EVERY_MS = 100;

/** The key changes that land by a compare-and-set on the key's record. */
export type ChangeAction = 'rotation' | 'update' | 'revocation';

/** A key change's landing point: the compare-and-set of `value` over the record `key`, read as `raw`. */
export interface LandingChange {
  /** The key's id (the log names it). */
  id: string;
  action: ChangeAction;
  key: string;
  raw: string;
  value: string;
  /**
   * Whether the change is made, by the record as it is now: true, false, or undefined when that cannot be told
   * (a PATCH whose record another change replaced: it may have landed just before that one).
   */
  made(now: string): boolean | undefined;
  /** Run once a change answered unsettled is settled (settleLater), before its log line: a rotation lets go of its lock. */
  settled?(): Promise<unknown>;
  /**
   * Run once a change answered unsettled is found made after all (settleLater), before its log line: what its answer
   * would have done once made (announced to every replica, audited), so it is not left to the key caches to expire.
   */
  madeAfterAll?(): Promise<unknown>;
}

/**
 * Where a change's landing compare-and-set ended (land): 'landed' or 'lost' (the record changed meanwhile) when
 * Redis answered it, 'made' when its answer was lost and the change found made, else the error to answer.
 */
export type Landing = 'landed' | 'lost' | 'made' | Error;

/** What each change is called in its answers and log lines, and what a GET shows of it once settled. */
const WORDS: Record<ChangeAction, { name: string; code: string; then: string }> = {
  rotation: {
    name: 'rotation',
    code: 'key_rotation_unsettled',
    then: 'a changed rotatedAt means it was made and its new secret is lost (rotate again)',
  },
  update: { name: 'PATCH', code: 'key_change_unsettled', then: 'its fields show whether it was made (PATCH again if not)' },
  revocation: { name: 'revocation', code: 'key_change_unsettled', then: '"revoked": true means it was made (DELETE again if not)' },
};

/**
 * Lands key changes (a rotation's marker, a PATCH, a revocation) so that none is left made, or still able to
 * land, behind an answer that says otherwise. When a compare-and-set's answer is lost (timed out, connection
 * dropped), the command may still be on its way and land later (a slow network delivers it after the writer's
 * timeout): a 503 then hid a change made after it (a revocation, limits changed, a rotation's new secret never
 * handed out). So the writer is dropped (nothing more goes by it) and the outcome settled on the shared
 * connection (settle).
 */
export class ChangeLanding {
  constructor(
    private readonly redis: RedisService,
    private readonly logger: Logger,
  ) {}

  /**
   * The compare-and-set of `change` on `writer`. When its answer is lost: 'made' when the change is found made;
   * else the error to answer, the record fenced so the command can no longer land (the original error when it was
   * not made; a 409 when that cannot be told); if Redis answers neither within SETTLE_MS, a 503 `*_unsettled`
   * (x-should-retry: false), the change settled on in the background (settleLater).
   */
  async land(writer: RedisClient, change: LandingChange): Promise<Landing> {
    try {
      return (await compareAndSet(writer, change.key, change.raw, change.value)) === 1 ? 'landed' : 'lost';
    } catch (error) {
      // Redis answered, refusing the script (full, a replica now...): its one write, its last command, was not made.
      if (isReplyError(error)) return error as Error;
      writer.disconnect();
      const made = await this.settle(change, Date.now() + SETTLE_MS).catch((unsettled: Error) => {
        this.settleLater(change);
        throw changeUnsettled(change.action, unsettled);
      });
      if (made) return 'made';
      return made === false ? (error as Error) : overtaken(change.id);
    }
  }

  /**
   * A change answered unsettled is settled for good once Redis answers again (for up to SETTLE_LATER_MS): it
   * could land until then, behind an answer that a GET in between seemed to confirm. The log says how it ended.
   */
  private settleLater(change: LandingChange): void {
    const { name, code } = WORDS[change.action];
    const answered = `key ${change.id}: a ${name} answered ${code}`;
    void this.settle(change, Date.now() + SETTLE_LATER_MS)
      .then(async (made) => {
        await change.settled?.();
        if (made) await change.madeAfterAll?.();
        return made;
      })
      .then(
        (made) => {
          if (made === false) return this.logger.warn(`${answered} was not made, and no longer can be`);
          if (made === undefined) {
            return this.logger.warn(`${answered} may have been made just before another change replaced it; it no longer can be`);
          }
          const lost = change.action === 'rotation' ? ': its new secret is lost: rotate again' : '';
          this.logger.error(`${answered} was made after all${lost}`);
        },
        (err: Error) => this.logger.error(`${answered} is still unsettled (${err.message}): GET the key once Redis answers`),
      );
  }

  /**
   * Whether a compare-and-set whose answer was lost landed (LandingChange.made), deciding it for good, on the
   * shared connection: the record is read; unless it shows the change made, a CAS rewrites it as it is with a
   * fresh `fence` value (tried again if it changed in between). A command still on its way then never lands: it
   * compares the bytes `raw`, and no later write can write them again, since each keeps the fence or writes a new
   * one (a PATCH echoes it; without it, a PATCH back to the same fields wrote `raw`'s bytes back). Single keys, so
   * the same on a Redis Cluster; a replica of an earlier release echoes the field as any it does not know. Tried
   * until `giveUpAt` (the shared connection may be slow too); past that the outcome is unknown: Redis's last
   * error. The waits hold no shutdown up. A fence whose own answer was lost may have landed: the record found as
   * one of this settle's fences is settled as the record it fenced was (not taken for another request's change).
   */
  private async settle(change: LandingChange, giveUpAt: number): Promise<boolean | undefined> {
    const shared = this.redis.client!;
    /** The fences written so far, each with whether the change was made by the record it replaced. */
    const fences = new Map<string, boolean | undefined>();
    for (;;) {
      try {
        const now = await shared.get(change.key);
        if (now === null) return false;
        if (fences.has(now)) return fences.get(now);
        const made = change.made(now);
        if (made) return true;
        const fenced = JSON.stringify({ ...(JSON.parse(now) as object), fence: randomUUID() });
        fences.set(fenced, made);
        if ((await compareAndSet(shared, change.key, now, fenced)) === 1) return made;
      } catch (error) {
        if (Date.now() + SETTLE_RETRY_EVERY_MS >= giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_EVERY_MS).unref());
      }
    }
  }
}

/** A change whose landing answer was lost and could not be settled (settle): it may be made or not. */
function changeUnsettled(action: ChangeAction, cause: Error): GatewayError {
  const { name, code, then } = WORDS[action];
  return new GatewayError(
    503,
    `Redis did not answer whether this ${name} was made (${cause.message}), and it may still be: this replica settles it once Redis answers ` +
      `(its log says how it ended). Then GET the key: ${then}; before, what it shows proves nothing.`,
    'server_error',
    code,
    null,
    { 'x-should-retry': 'false' },
  );
}

/** A PATCH whose landing answer was lost, its record replaced meanwhile by another change (settle). */
function overtaken(id: string): GatewayError {
  return new GatewayError(
    409,
    `Key ${id} was changed by another request while Redis' answer to this change was lost: it may have been made just before ` +
      'that one, and can no longer land. GET the key and PATCH again if needed.',
    'invalid_request_error',
    'key_changed',
  );
}
