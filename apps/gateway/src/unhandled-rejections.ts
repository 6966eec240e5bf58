import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/**
 * A promise that failed with nothing to handle it keeps the process serving: logged at error with its
 * stack and counted (gateway_unhandled_rejections_total), not Node's default of exiting. Such a promise is
 * work nobody waits on (a cache write after the answer went out, a trace, a settlement): its failure
 * loses that work, while an exit loses every request and stream in flight, for every tenant (an upstream
 * answer of a shape no check foresaw, repeated, would crash-loop every replica). A synchronous uncaught
 * exception still ends the process: code stopped midway may have left state half changed.
 */
export function keepServingOnUnhandledRejections(log: Pick<Logger, 'error'>, count: () => void, target: EventEmitter = process): void {
  target.on('unhandledRejection', (reason: unknown) => {
    count();
    log.error(
      { err: reason instanceof Error ? reason : new Error(String(reason)) },
      'unhandled promise rejection (a gateway bug): kept serving',
    );
  });
}
