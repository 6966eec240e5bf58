import { Redis, ReplyError } from 'ioredis';

/**
 * How long a subscription whose SUBSCRIBE an ACL refused (NOPERM: no permission for the channel) waits before it tries again:
 * such a refusal lasts until an operator changes the ACL, and at the usual retry delay each replica opened about
 * 1.5 authenticated connections a second for ever (recheck30 D3).
 */
const REFUSED_RETRY_MS = 30_000;

/** What a subscriber does with its channel: each message, and each time it is subscribed again. */
export interface SubscriptionHandlers {
  onMessage: (message: string) => void;
  /**
   * The channel is subscribed (the first time, or again after its connection was lost): whatever was published
   * meanwhile never reached this replica, so anything kept on the strength of announcements is to be dropped.
   */
  onSubscribed: () => void;
  /** The subscription was live and is no longer (its connection closed): announcements may be missed from now on. */
  onLost?: () => void;
}

/**
 * One channel's subscriber connection, which knows whether it hears every message (`live`). Its connection is opened
 * by `open` (to the single Redis, or to any node of a cluster, each of which gets every announcement: see
 * RedisService.publishToAll) and never reconnects by itself: when it ends (closed by Redis, CLIENT KILL, a failover,
 * the watchdog), another is opened after `retryDelay` and subscribes, then `onSubscribed` runs. ioredis' own
 * re-subscription was silent: what was published while the connection was away was missed without anyone knowing.
 */
export class Subscription {
  private current: Redis | undefined;
  private subscribed = false;
  /** Set once the channel was subscribed: the ACL allows it (see AccessCheck). */
  private subscribedBefore = false;
  private closed = false;
  private attempts = 0;
  /** Set while SUBSCRIBE is refused (an ACL without the channel): warned once until it succeeds. */
  private refused = false;
  /** Set while the refusal is an ACL's (NOPERM), which lasts until an operator changes it: tried again slowly. */
  private noPermission = false;

  constructor(
    private readonly channel: string,
    private readonly open: () => Redis | undefined,
    private readonly retryDelay: (attempts: number) => number,
    private readonly handlers: SubscriptionHandlers,
    private readonly warn: (message: string) => void,
    /** Told of each SUBSCRIBE's answer: its error, none when subscribed (AccessCheck.note). */
    private readonly answered: (error?: Error) => void,
  ) {
    this.connect();
  }

  /** True while the channel is subscribed on a connection up: no message published since has been missed. */
  get live(): boolean {
    return this.subscribed && this.current?.status === 'ready';
  }

  /** True once the channel has been subscribed, whatever since. */
  get subscribedOnce(): boolean {
    return this.subscribedBefore;
  }

  /** The connection now, if one is open (a new one after each loss). */
  get connection(): Redis | undefined {
    return this.current;
  }

  close(): void {
    this.closed = true;
    this.subscribed = false;
    this.current?.disconnect();
  }

  private connect(): void {
    if (this.closed) return;
    const connection = this.open();
    if (!connection) return this.reconnectLater();
    this.current = connection;
    connection.on('error', () => undefined); // the shared client already reports outages
    connection.on('message', (_channel, message: string) => this.handlers.onMessage(message));
    connection.on('close', () => this.lost());
    connection.once('end', () => {
      this.lost();
      if (this.current === connection) this.reconnectLater();
    });
    connection.once('ready', () => {
      connection.subscribe(this.channel).then(
        () => {
          if (this.closed || this.current !== connection || connection.status !== 'ready') return;
          this.attempts = 0;
          this.refused = false;
          this.noPermission = false;
          this.subscribed = true;
          this.subscribedBefore = true;
          this.answered();
          this.handlers.onSubscribed();
        },
        (error: Error) => {
          // Refused by Redis (not a connection lost meanwhile): said once, as it may last (an ACL).
          if (error instanceof ReplyError && !this.refused)
            this.warn(
              `SUBSCRIBE ${this.channel} refused (${error.message}): retrying; nothing kept by its announcements is used meanwhile`,
            );
          this.refused ||= error instanceof ReplyError;
          this.noPermission = error instanceof ReplyError && error.message.startsWith('NOPERM');
          this.answered(error);
          connection.disconnect(); // ends it: tried again on a new one
        },
      );
    });
  }

  private lost(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    if (!this.closed) this.handlers.onLost?.();
  }

  private reconnectLater(): void {
    if (this.closed) return;
    setTimeout(() => this.connect(), this.noPermission ? REFUSED_RETRY_MS : this.retryDelay(++this.attempts)).unref();
  }
}
