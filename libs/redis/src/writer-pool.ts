import type { RedisClient } from './redis.service';

/** An idle connection is closed after this long: admin changes come in bursts (a provisioning job), then rarely. */
const IDLE_MS = 30_000;
/** At most this many idle connections are kept; a burst wider than that closes the rest as each ends. */
const MAX_IDLE = 4;

/**
 * The connections of durable writes (RedisService.durably): each write has one to itself while it
 * runs, opened when none is idle, kept a while after for the next (a new connection costs a create
 * ~2 ms on a single Redis, ~10 ms on a cluster). WAIT blocks its connection and counts only that
 * connection's writes, so a shared one queued each write behind the others' WAITs.
 */
export class WriterPool {
  private readonly idle: { writer: RedisClient; timer: NodeJS.Timeout }[] = [];
  private closed = false;

  constructor(private readonly open: () => Promise<RedisClient>) {}

  /** An idle connection still ready, else a new one. */
  async take(): Promise<RedisClient> {
    for (let kept = this.idle.pop(); kept; kept = this.idle.pop()) {
      clearTimeout(kept.timer);
      if (kept.writer.status === 'ready') return kept.writer;
      kept.writer.disconnect();
    }
    return this.open();
  }

  /** Back from a write: kept idle if it may serve the next (`reusable`, still ready, room left), else closed. */
  give(writer: RedisClient, reusable: boolean): void {
    if (!reusable || this.closed || writer.status !== 'ready' || this.idle.length >= MAX_IDLE) return void writer.disconnect();
    const kept = {
      writer,
      timer: setTimeout(() => {
        this.idle.splice(this.idle.indexOf(kept), 1);
        writer.disconnect();
      }, IDLE_MS).unref(),
    };
    this.idle.push(kept);
  }

  /** At shutdown: the idle ones close now, those in use as their writes end. */
  close(): void {
    this.closed = true;
    for (const { writer, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      writer.disconnect();
    }
  }
}
