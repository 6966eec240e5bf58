import type { Logger } from '@nestjs/common';
import { Cluster, type Redis, ReplyError } from 'ioredis';
import { addressOf, mastersOf } from './masters';
import { redisRefusal } from './redis-refusal';

/** A probe's answer that was no error. */
const TAKEN = Symbol('taken');

/** A SHA1 no script has: EVALSHA of it answers NOSCRIPT to a user that may run EVALSHA, NOPERM to one that may not. */
const NO_SCRIPT = '0'.repeat(40);

/** One command as `AccessCheck.run` sends it, named for the log. */
interface Probe {
  what: string;
  args: [string, ...string[]];
}

/**
 * What every replica runs, in forms that change nothing: every limit, budget, lease and store write is a script (EVAL
 * once, then EVALSHA), on keys of each prefix in `prefixes` (an ACL's key patterns: Redis checks a script's declared
 * keys before running it). Channels are checked by the subscriptions themselves (SUBSCRIBE, `note`).
 */
export function accessProbes(prefixes: string[]): Probe[] {
  return [
    { what: 'EVAL', args: ['EVAL', 'return 1', '0'] },
    { what: 'EVALSHA', args: ['EVALSHA', NO_SCRIPT, '0'] },
    ...prefixes.map((prefix): Probe => ({
      what: `a script on keys ${prefix}*`,
      args: ['EVAL', 'return 1', '1', `${prefix}{access-check}`],
    })),
  ];
}

/** What `problem` reports: the first refusal kept, and whether readiness fails on it. */
export interface AccessProblem {
  message: string;
  /** Found before Redis had once taken everything this replica runs: /ready fails (see AccessCheck). */
  blocking: boolean;
}

/**
 * Redis refusing this replica in a way no retry mends: a wrong password (WRONGPASS), none given (NOAUTH), or an ACL
 * without a command, key pattern or channel the gateway uses (NOPERM). Before, the gateway started ready and served
 * with every limit failing open and one warning. Each refusal is logged at error level, naming what was refused and Redis' words, and kept
 * until Redis takes it again. Found before Redis has once taken everything (the connection, the probes, every
 * channel), it fails /ready: a rollout with a wrong secret stops there, the replicas before it serving on. Found
 * later (an ACL or a password changed under running replicas), it is logged and reported, and the replica stays
 * ready: every replica shares that Redis, and failing readiness on it would take all of them out at once, as a Redis
 * outage would; they serve on as configured for Redis failing (failOpen). Nor does it stop the process: restarted,
 * it would meet the same refusal, in a crash loop.
 */
export class AccessCheck {
  private readonly refusals = new Map<string, string>();
  /** What the last run asked (each probe, on a cluster at each master). */
  private asked = new Set<string>();
  /** Set once every probe was answered without a refusal. */
  private probed = false;
  /** Set once Redis has taken everything: the probes, the connection, every channel. Refusals no longer block then. */
  private confirmed = false;

  constructor(
    private readonly probes: Probe[],
    private readonly logger: Logger,
    /** Whether every channel the gateway subscribes to has been subscribed once. */
    private readonly subscribed: () => boolean,
  ) {}

  get problem(): AccessProblem | undefined {
    const [message] = this.refusals.values();
    return message === undefined ? undefined : { message, blocking: !this.confirmed };
  }

  /**
   * Notes Redis' answer to `what`: `error` when it failed (kept when it is a refusal no retry mends), none when it was
   * taken. Other errors (Redis away, a timeout) say nothing of the gateway's access and change nothing.
   */
  note(what: string, error?: unknown): void {
    if (error === undefined) {
      if (this.refusals.delete(what)) this.logger.log(`Redis takes ${what} again`);
      return this.confirm();
    }
    const refusal = redisRefusal(error);
    if (refusal?.kind !== 'misconfigured') return;
    const message = `Redis refused ${what}: ${(error as Error).message} (${refusal.reason})`;
    if (this.refusals.get(what) === message) return;
    this.refusals.set(what, message);
    const effect = this.confirmed
      ? 'serving on, as while Redis is down (failOpen)'
      : 'not ready until it is fixed (REDIS_URL, or the ACL of its user)';
    this.logger.error(`${message}: ${effect}`);
  }

  /**
   * Sends each probe to every master (the one Redis, or each master of a cluster: Redis Cluster does not share ACLs,
   * each node has its own, and a probe answered by one node says nothing of another's). One answered (NOSCRIPT is an
   * answer: the user may run EVALSHA) is taken, one refused is kept; one not answered (Redis away, a timeout, LOADING)
   * leaves the check undecided until the next run. On a cluster each probe is named with its node, and a master that
   * does not own the probe's key answers MOVED, an answer: Redis checks the ACL, key patterns included, before it
   * redirects. A node no longer a master (failed over, removed) is no longer asked, and what it refused is dropped.
   */
  async run(client: Redis | Cluster): Promise<void> {
    const named = client instanceof Cluster;
    const sent = mastersOf(client).flatMap((node) =>
      this.probes.map(({ what, args }) => ({ what: named ? `${what} at ${addressOf(node)}` : what, args, node })),
    );
    if (!sent.length) return; // a cluster whose slot map is being read again: no master known, nothing learnt
    const answers = await Promise.all(
      sent.map(({ node, args: [command, ...args] }) =>
        node.call(command, ...args).then(
          () => TAKEN,
          (error: unknown) => error,
        ),
      ),
    );
    const asking = new Set(sent.map(({ what }) => what));
    for (const what of this.asked)
      if (!asking.has(what) && this.refusals.delete(what)) this.logger.log(`No longer asking ${what}: not a master now`);
    this.asked = asking;
    let taken = 0;
    sent.forEach(({ what }, i) => {
      const answer = answers[i];
      if (answer === TAKEN || (answer instanceof ReplyError && !redisRefusal(answer))) {
        taken += 1;
        this.note(what);
      } else this.note(what, answer);
    });
    if (taken === sent.length) this.probed = true;
    this.confirm();
  }

  private confirm(): void {
    if (!this.confirmed && this.probed && this.refusals.size === 0 && this.subscribed()) this.confirmed = true;
  }
}
