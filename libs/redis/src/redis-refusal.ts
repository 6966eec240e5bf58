import { isReplyError } from './redis.service';

/**
 * Error replies by which Redis refuses a command it cannot take now, by their code (the reply's first word), each
 * with what it means: the command made no change (a script: see refusedAt), and the same command a little later may
 * well pass. OOM: full at maxmemory under `noeviction`; READONLY: the address now serves a replica (a failover);
 * MASTERDOWN: a replica that lost its master; LOADING: a Redis reading its data back; BUSY: a script runs too long.
 */
const TRANSIENT: Record<string, string> = {
  OOM: 'Redis is full (maxmemory) and refuses writes',
  READONLY: 'Redis is a read-only replica now (a failover?)',
  MASTERDOWN: 'Redis lost the link to its master',
  LOADING: 'Redis is loading its data',
  BUSY: 'Redis is busy running a script',
};

/** Error replies no retry mends: the gateway's Redis user or password is wrong, which the operator must fix. */
const MISCONFIGURED: Record<string, string> = {
  NOPERM: "the gateway's Redis user may not run this command (its ACL)",
  NOAUTH: 'Redis asks for a password the gateway was not given',
  WRONGPASS: "Redis refused the gateway's user name or password",
};

/**
 * How Redis 7 words a NOPERM met inside a script, as an ERR: "ERR The user executing the script can't run this command
 * or subcommand script: …" (a command its ACL lacks), "… can't access at least one of the keys …" (a key pattern).
 */
const SCRIPT_NOPERM = /^ERR The user executing the script can't /;

/** Why Redis refused a command (redisRefusal): for now ('transient') or until the operator acts ('misconfigured'). */
export interface RedisRefusal {
  kind: 'transient' | 'misconfigured';
  reason: string;
}

/** The refusal an error is, if it is Redis' error reply of one of the kinds above; else undefined. */
export function redisRefusal(error: unknown): RedisRefusal | undefined {
  if (!isReplyError(error)) return undefined;
  const message = (error as Error).message;
  if (SCRIPT_NOPERM.test(message)) return { kind: 'misconfigured', reason: MISCONFIGURED.NOPERM };
  const code = message.split(' ', 1)[0];
  if (Object.hasOwn(TRANSIENT, code)) return { kind: 'transient', reason: TRANSIENT[code] };
  if (Object.hasOwn(MISCONFIGURED, code)) return { kind: 'misconfigured', reason: MISCONFIGURED[code] };
  return undefined;
}

/**
 * The line of a script at which Redis refused it, from its error reply ("… script: <sha>, on @user_script:<line>."),
 * or 0 when the reply names none (the call was refused before the script ran).
 */
export function refusedAt(error: Error): number {
  return Number(/on @user_script:(\d+)\.$/.exec(error.message)?.[1] ?? 0);
}
