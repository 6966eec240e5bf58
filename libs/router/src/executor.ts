import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { type AttemptTiming, MetricsService } from '@gateway/metrics';
import { accountHint, errorLabel, GatewayError, LOOP_DETECTED, loopDetected } from '@gateway/providers';
import { endAttempt, startAttempt } from './attempt-timing';
import { BreakerRegistry } from './breaker-registry';
import { Clock } from './clock';
import { holdsMore, refusedWindow } from './context-fallback';
import type { Ticket, Verdict } from './deployment-health';
import { firstBackS, healthWaits, unavailable, type Wait } from './eligibility';
import { type LatencyKind, LatencyTracker } from './latency-tracker';
import type { Deployment } from './model-catalog';
import type { PrimedStream } from './prime-stream';
import type { Plan } from './router.service';
import { Stopping } from './stopping';

/** One failed attempt, for the response headers and the access log. */
export interface FailedAttempt {
  deployment: string;
  /** The error code (or type) that made us move on. */
  reason: string;
}

/** The attempts a run made and why each failed one moved on; for a run that failed, all it got to. */
export type RunAttempts = Pick<Attempted<unknown>, 'attempts' | 'failures'> & {
  /** A failed run's last attempt's deployment; unset when it made none (every deployment cooling down). */
  lastTried?: Deployment;
};

const failedRuns = new WeakMap<GatewayError, RunAttempts>();

/** The run an error thrown by Executor.run ended, if it is one. */
export function failedRunOf(error: unknown): RunAttempts | undefined {
  return error instanceof GatewayError ? failedRuns.get(error) : undefined;
}

export interface Attempted<T> {
  result: T;
  deployment: Deployment;
  /** Attempts made, the successful one included. */
  attempts: number;
  failures: FailedAttempt[];
  /** Time spent in the run: attempts and waits between them (streams: until the first chunk). */
  elapsedMs: number;
}

/** A call to one deployment; it must settle once the answer has started (streams: first chunk, primeStream). */
/** `timing`: the attempt's entry in the run's timeline, when there is one (traces). */
/**
 * `sent`: for the transport to call once the request went upstream (CallContext.sent). An attempt that times out before
 * then was waiting for one of the pool's connections (connectionsBusy); a whole answer's client may leave until then (runWhole).
 */
export type AttemptCall<T> = (deployment: Deployment, signal: AbortSignal, timing?: AttemptTiming, sent?: () => void) => Promise<T>;

/**
 * For an answer that goes on after its attempt (a stream): hands it the ticket and the timing its ending
 * settles, and `measured`, which ends the attempt's latency measure (the answer decides when).
 */
type Follow<T> = (
  answer: T,
  ticket: Ticket,
  timing: AttemptTiming | undefined,
  measured: (answered: boolean) => void,
  /** Stops the bound on the answer's time (streamMs), once it is over. */
  unbound: () => void,
) => void;

const ANSWERED: Verdict = { kind: 'answered' };
const NO_VERDICT: Verdict = { kind: 'no-verdict' };

/** Statuses whose Retry-After cools the deployment down. */
const RETRY_AFTER_STATUSES = new Set<unknown>([429, 503, 529]);
/** Cool-down after a 429 that named no Retry-After. */
const DEFAULT_RATE_LIMIT_MS = 1_000;
/**
 * A run that waits for a deployment to come back wakes at a random point of this share of its wait after it
 * (jitter): the requests that waited out the same Retry-After (a 429 answered to many at once) ask the upstream
 * again spread out, not in one burst into the upstream that had just rate-limited the gateway.
 */
const WAKE_SPREAD = 0.25;

/**
 * Runs a plan in passes. Each pass tries the deployments in order: one that may be
 * asked now is retried with exponential backoff and full jitter while it fails
 * with an error in `fallbackOn`; one that is cooling down (Retry-After) or whose
 * breaker is open is skipped, and so is one that sent this request a Retry-After
 * that has not passed yet. When a pass ends without an answer, the run waits
 * for the earliest skipped deployment to come back, if that is before the deadline
 * and within `retryAfterCapMs` of waiting in all, or within these bounds for a
 * half-open probe another request has in flight to end, and makes another pass. Client
 * errors return at once, but for a prompt over an upstream's context window, which moves on to
 * the deployments whose configured window is larger (context-fallback.ts), and for a request a deployment's adapter
 * cannot encode (cannotEncode), which moves on to the next deployment, its 400 the answer only when none takes it.
 * Each attempt has a timeout and the run a deadline; every
 * attempt's ending, whatever it is, is reported to the deployment's health.
 */
@Injectable()
export class Executor {
  private readonly fallbackOn: Set<unknown>;
  /** The source of the backoff's and the wake-up's jitter; replaceable so tests can fix it. */
  random: () => number = Math.random;

  constructor(
    private readonly config: GatewayConfig,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    private readonly stopping: Stopping,
  ) {
    this.fallbackOn = new Set(config.router.retry.fallbackOn);
  }

  /**
   * A stream: it may fall back until its first chunk (primeStream). From then on the deployment is up
   * (a probe closes its breaker), and how the stream ends is the attempt's outcome for its health:
   * read to its end, an answer; an upstream failure after it began (cut, timed out, malformed, an
   * error event), a failure; a client that left, nothing. Its latency (the `latency` strategy's time
   * to first token) is measured to its first chunk of output, not to its first chunk: an OpenAI-format
   * upstream sends the role alone, or Azure its prompt-filter verdict, before it generates anything.
   * `open` opens the stream and primes it (primeStream): its promise is the attempt, up to the first chunk, so what
   * the caller wraps around it (an abandoned attempt's charge) sees a hang-up while the upstream's headers are in
   * and its first chunk is not.
   */
  runStream(
    plan: Plan,
    signal: AbortSignal,
    open: AttemptCall<PrimedStream>,
    timeline?: AttemptTiming[],
  ): Promise<Attempted<PrimedStream>> {
    return this.run(plan, signal, 'ttft', open, timeline, this.followStream(signal));
  }

  /**
   * How a stream's ending settles its attempt. A method of its own, not closures written in runStream or run:
   * V8 keeps one context a function for all the variables its closures use, so a callback the stream holds
   * written there held `open` (the whole request: its body, reply and state) or run's every table, and a
   * streamed request promoted ~4.1 KB to old space instead of ~1.7 (BENCHMARKS.md, "Changes, each measured").
   */
  private followStream(signal: AbortSignal): Follow<PrimedStream> {
    return (stream, ticket, timing, measured, unbound) => {
      stream.outputStarted = measured;
      stream.closed = unbound;
      stream.ended = (err) => {
        const error = err === undefined ? undefined : asGatewayError(err, signal);
        ticket.end(error ? this.verdict(error, signal) : ANSWERED, this.clock.now());
        // A client that left failed nothing upstream: its attempt just ends.
        if (timing) endAttempt(timing, this.clock.now(), signal.aborted ? undefined : error);
      };
    };
  }

  /**
   * Hands a started stream its ending (`follow`): the latency measure to end at its first output, and its bound
   * (streamMs, from `boundMs` on). Out of run for the reason followStream is.
   */
  private followAttempt<T>(
    follow: Follow<T>,
    answer: T,
    ticket: Ticket,
    timing: AttemptTiming | undefined,
    measure: { deploymentId: string; kind: LatencyKind; latencyId: number },
    later: (afterMs: number, why: () => GatewayError) => () => void,
    boundMs: number,
    streamMs: number,
  ): void {
    const { deploymentId, kind, latencyId } = measure;
    const unbound = later(boundMs, () => streamTimeout(streamMs));
    follow(answer, ticket, timing, (answered) => this.latency.end(deploymentId, kind, latencyId, answered), unbound);
  }

  /**
   * A whole answer (JSON, not streamed) the client pays for once the upstream was asked: when `signal`
   * aborts (the client left), the attempt under way is let finish within its own timeout and the deadline,
   * so its usage can be charged, and none starts after it (no retry, fallback or wait); `stop` (the drain's grace
   * over) still aborts it. An attempt whose request was not sent yet (`call`'s `sent` not called: still queued
   * for one of the pool's connections, or not written) is aborted instead: nothing reached the upstream, nothing
   * is billed, and a burst of departed clients does not hold the pool. A stream is aborted: it is charged what it
   * streamed until then.
   */
  runWhole<T>(plan: Plan, signal: AbortSignal, call: AttemptCall<T>, stop: AbortSignal, timeline?: AttemptTiming[]): Promise<Attempted<T>> {
    return this.run(plan, signal, 'total', call, timeline, undefined, stop);
  }

  /**
   * `timeline`, when given, receives every attempt's timing (for traces), even when the run fails.
   * `follow`: the answer goes on after the attempt, and its ending settles the attempt's ticket.
   * `stop`: the attempt under way is aborted by it, and by the client leaving (`signal`) only until its request was
   * sent (runWhole).
   */
  async run<T>(
    plan: Plan,
    signal: AbortSignal,
    kind: LatencyKind,
    call: AttemptCall<T>,
    timeline?: AttemptTiming[],
    follow?: Follow<T>,
    stop?: AbortSignal,
  ): Promise<Attempted<T>> {
    const { retry, timeouts } = this.config.router;
    const runStarted = performance.now();
    const deadline = this.clock.now() + timeouts.deadlineMs - (plan.waitedMs ?? 0);
    const streamEnd = deadline - timeouts.deadlineMs + timeouts.streamMs;
    // Deployments eligibility left out for their health are skipped as much as those skipped below.
    const failures: FailedAttempt[] = (plan.out ?? []).map((d) => {
      const reason = this.breakers.get(d.id).whyOut(this.clock.now());
      this.metrics.recordSkip(plan.group.name, reason);
      return { deployment: d.id, reason };
    });
    const tries = new Map<Deployment, number>();
    /** Deployments that answered this request with trouble no wait clears (ownTrouble): not asked again, nor waited for. */
    const hopeless = new Set<Deployment>();
    /** The largest context window an upstream refused this request's prompt as over: only a larger one is asked after. */
    let refused: number | undefined;
    const triesLeft = (d: Deployment) => !hopeless.has(d) && holdsMore(d, refused) && (tries.get(d) ?? 0) < retry.attemptsPerDeployment;
    /** This request's own Retry-After per deployment: it does not ask that one again before then. */
    const notBefore = new Map<Deployment, number>();
    /** Those whose notBefore a 429 set: a rate limit, not an outage. */
    const limitedBy429 = new Set<Deployment>();
    const readyAt = (d: Deployment, now: number) => Math.max(this.breakers.get(d.id).readyAt(now), notBefore.get(d) ?? 0);
    /** Whether what keeps `d` from this request now is an upstream 429's Retry-After (its own, or the deployment's). */
    const rateLimited = (d: Deployment, now: number) => {
      const at = readyAt(d, now);
      if (at <= now || hopeless.has(d)) return false;
      return (notBefore.get(d) ?? 0) >= at ? limitedBy429.has(d) : this.breakers.get(d.id).rateLimited(now);
    };
    /**
     * Each deployment's wait as this request sees it, for a refusal: one that failed it for good (no tries
     * left, not waiting out a Retry-After; or trouble no wait clears) is no comeback to tell the client about.
     */
    const waits = (now: number): Wait[] => [
      ...plan.deployments.map((d) => {
        const limited = rateLimited(d, now);
        // One with no tries left whose upstream said when it is back (a 503's or 529's Retry-After) is a comeback still.
        const failedIt = hopeless.has(d) || (!triesLeft(d) && !limited && (notBefore.get(d) ?? 0) <= now);
        const trouble = this.breakers.get(d.id).accountTrouble(now);
        return { readyAt: failedIt ? Infinity : readyAt(d, now), rateLimited: limited, trouble };
      }),
      ...healthWaits(plan.out ?? [], this.breakers, now),
    ];
    let last: GatewayError | undefined;
    /** The first refusal of a deployment's adapter to encode the request (cannotEncode): the answer only when no deployment took it. */
    let unencodable: GatewayError | undefined;
    let attempts = 0;
    let lastTried: Deployment | undefined;
    let waitBudget = retry.retryAfterCapMs;
    // A whole answer's attempts (runWhole) follow `stop`, and the client only until their request was sent.
    const attemptParent = stop ?? signal;
    const leaving = stop && signal;

    try {
      for (;;) {
        for (const deployment of plan.deployments) {
          const health = this.breakers.get(deployment.id);
          while (triesLeft(deployment)) {
            // A client that left gets no further attempt (a whole answer's attempt sent upstream is not aborted by it: runWhole).
            if (signal.aborted) throw GatewayError.clientClosed();
            const now = this.clock.now();
            if (now >= deadline) throw last ?? unencodable ?? deadlineError(timeouts.deadlineMs);
            const ticket = (notBefore.get(deployment) ?? 0) <= now ? health.admit(now) : undefined;
            if (!ticket) {
              if (!tries.has(deployment) && !failures.some((f) => f.deployment === deployment.id)) {
                const reason = health.whyOut(now);
                failures.push({ deployment: deployment.id, reason });
                this.metrics.recordSkip(plan.group.name, reason);
              }
              break;
            }
            const attempt = (tries.get(deployment) ?? 0) + 1;
            tries.set(deployment, attempt);
            attempts++;
            lastTried = deployment;
            if (attempt > 1) this.metrics.recordRetry(plan.group.name, deployment.provider.name);
            else if (last) this.metrics.recordFallback(plan.group.name, errorLabel(last));

            const limit = Math.min(timeouts.attemptMs, deadline - now);
            const attemptSignal = this.withTimeout(
              attemptParent,
              limit,
              () => (limit < timeouts.attemptMs ? deadlineError(timeouts.deadlineMs) : attemptTimeout(limit)),
              leaving,
            );
            const timing = timeline && startAttempt(timeline, deployment, now);
            const latencyId = this.latency.start(deployment.id, kind);
            let verdict: Verdict = NO_VERDICT;
            let error: GatewayError;
            let followed = false;
            let queued = false;
            let refusedToEncode = false;
            // Whether the attempt's time is a latency sample: an answer's, or a timeout's (it took at least that long).
            // Not an error's: a deployment that refuses at once (a 400 only it gives) ranked fastest and took the traffic.
            let measured = false;
            try {
              const result = await call(deployment, attemptSignal.signal, timing, attemptSignal.sent);
              verdict = ANSWERED;
              measured = true;
              // A stream's attempt goes on until the stream ends (follow), within streamMs of the request's start; any other ends here.
              if (follow) {
                const measure = { deploymentId: deployment.id, kind, latencyId };
                this.followAttempt(
                  follow,
                  result,
                  ticket,
                  timing,
                  measure,
                  attemptSignal.later,
                  streamEnd - this.clock.now(),
                  timeouts.streamMs,
                );
                followed = true;
              } else if (timing) endAttempt(timing, this.clock.now());
              return { result, deployment, attempts, failures, elapsedMs: performance.now() - runStarted };
            } catch (err) {
              error = asGatewayError(err, attemptSignal.signal);
              // Timed out still queued for one of the pool's connections (every one busy, another tenant's long streams
              // maybe): the upstream never had it, so it is no verdict on the deployment and no latency sample (fair31 D1).
              if ((queued = attemptSignal.timedOutUnsent())) error = connectionsBusy(deployment, limit);
              // A whole answer's attempt ran on after its client left: the upstream is judged by how it ended. One abandoned
              // unsent (runWhole) ends in the client's error, which names no upstream status: no verdict.
              refusedToEncode = cannotEncode(error, attemptSignal.wasSent());
              verdict = queued || refusedToEncode ? NO_VERDICT : this.verdict(error, attemptParent, attempt > 1);
              measured = verdict.kind !== 'no-verdict' && error.upstreamStatus === 'timeout';
              // A client that left (a whole answer's, before its request was sent) failed nothing upstream: the attempt just ends.
              if (timing) endAttempt(timing, this.clock.now(), error.status === 499 ? undefined : error);
            } finally {
              // Every way out of an attempt lands here: the probe slot, if it held one, is released.
              if (follow && verdict === ANSWERED) ticket.started();
              else ticket.end(verdict, this.clock.now());
              if (!followed) this.latency.end(deployment.id, kind, latencyId, measured);
              attemptSignal.clear();
              // A whole answer's parent is the process's one grace signal (runWhole): its listener goes with the attempt,
              // or every request added one for good (each add walked them all: JSON answers fell to 570 req/s).
              if (!followed) attemptSignal.detach();
            }
            if (error.upstreamStatus === LOOP_DETECTED) throw loopDetected();
            // Listed before any way out: an error answer names every failed attempt, the last one included (README Headers).
            failures.push({ deployment: deployment.id, reason: error.code ?? error.type });
            // Nothing went upstream and nothing is wrong with the deployment: the next one may take the request as it
            // is (an OpenAI-format upstream takes the schemas Gemini's bounds refuse). Not asked again; no health verdict.
            if (refusedToEncode) {
              unencodable ??= error;
              this.metrics.recordSkip(plan.group.name, 'cannot_encode');
              hopeless.add(deployment);
              break;
            }
            // A prompt over this upstream's window (the estimate let it through): a deployment whose window is larger
            // may serve it; with none left to ask, the client gets the upstream's 400, as any client error.
            const window = verdict.kind === 'no-verdict' ? undefined : refusedWindow(error, deployment);
            if (window !== undefined) {
              refused = Math.max(refused ?? 0, window);
              if (!plan.deployments.some(triesLeft)) throw error;
              // Never sent (queued): another deployment's pool may have a connection free, whatever fallbackOn lists.
            } else if (!queued && (verdict.kind === 'no-verdict' || !this.fallsBack(error.upstreamStatus))) throw error;
            last = error;
            if (this.ownTrouble(error)) hopeless.add(deployment);
            const retryAfterMs = verdict.kind === 'rate-limited' || verdict.kind === 'failed' ? verdict.retryAfterMs : undefined;
            if (retryAfterMs) notBefore.set(deployment, this.clock.now() + retryAfterMs);
            if (verdict.kind === 'rate-limited') limitedBy429.add(deployment);
            else if (retryAfterMs) limitedBy429.delete(deployment);
            // A Retry-After, a cool-down or an open breaker: the next deployment gets the request now.
            if (readyAt(deployment, this.clock.now()) > this.clock.now() || !triesLeft(deployment)) break;
            const wait = this.random() * backoff(attempt, retry.backoffMs, retry.maxBackoffMs);
            if (this.clock.now() + wait >= deadline) break;
            await this.clock.sleep(wait, signal);
            if (signal.aborted) throw GatewayError.clientClosed();
          }
        }

        // Nothing answered in this pass: wait for the earliest deployment that still has tries left, or,
        // within the same bounds, for a probe in flight on one to end (it has no time to be back at).
        const now = this.clock.now();
        const left = plan.deployments.filter(triesLeft);
        const earliest = Math.min(...left.map((d) => readyAt(d, now)));
        const probes = left.flatMap((d) => this.breakers.get(d.id).probeEnded ?? []);
        const limit = Math.min(now + waitBudget, deadline);
        const wakeAt =
          earliest <= limit && earliest < deadline
            ? Math.min(earliest + this.random() * (earliest - now) * WAKE_SPREAD, limit, deadline - 1)
            : probes.length && limit > now
              ? limit
              : undefined;
        if (wakeAt === undefined) throw this.refusal(plan, last ?? unencodable, waits(now), now);
        // Draining: a wait past the grace's end would be cut with no answer; the client gets one now, to retry elsewhere.
        if (wakeAt > this.stopping.at) throw this.retryWithinCooldown(shuttingDown(plan.group.name, firstBackS(waits(now), now)));
        // A drain that begins meanwhile wakes the run to ask that again (once: its signal stays aborted).
        const wakers = [...probes, ...(this.stopping.signal.aborted ? [] : [this.stopping.signal])];
        await this.clock.sleep(wakeAt - now, wakers.length ? AbortSignal.any([signal, ...wakers]) : signal);
        waitBudget -= this.clock.now() - now;
        if (signal.aborted) throw GatewayError.clientClosed();
      }
    } catch (err) {
      // The run's course so far goes with its error, for the failure's response headers and log.
      if (err instanceof GatewayError) failedRuns.set(err, { attempts, failures, lastTried });
      throw err;
    }
  }

  /**
   * What a run that has no deployment left to ask or wait for answers. README (Routing): 429 only when every
   * deployment waits out an upstream 429 (a 503's or 529's Retry-After, an open breaker, a cool-down after
   * failures are an outage: 503), and Retry-After when the first is back, whichever deployment this request
   * happened to ask last. The upstream's own error stands where it is the whole story: a group of one
   * deployment (its message and code, as its client knows them), or every deployment failed this request
   * and none is to be waited for (the last failure says how, a 502 or 504).
   */
  private refusal(plan: Plan, last: GatewayError | undefined, waits: Wait[], now: number): GatewayError {
    const alone = plan.deployments.length + (plan.out?.length ?? 0) === 1;
    const noneBack = waits.every((w) => w.readyAt === Infinity && !w.rateLimited);
    if (last && (alone || noneBack)) return this.retryWithinCooldown(last);
    return unavailable(plan.group.name, waits, now, this.cooldownS());
  }

  /**
   * The upstream's Retry-After, capped as the gateway caps its own wait (breaker `cooldownMs`):
   * a client told "a day" by the upstream would wait far longer than the gateway does.
   */
  private retryWithinCooldown(error: GatewayError): GatewayError {
    const cap = this.cooldownS();
    if (Number(error.headers['retry-after']) > cap) error.headers['retry-after'] = String(cap);
    return error;
  }

  /** The breaker's cool-down in whole seconds (at least 1): the longest Retry-After a client is told. */
  private cooldownS(): number {
    return Math.max(1, Math.ceil(this.config.router.breaker.cooldownMs / 1000));
  }

  private fallsBack(status: GatewayError['upstreamStatus']): boolean {
    return this.fallbackOn.has(status) || (typeof status === 'number' && status >= 500 && status <= 599 && this.fallbackOn.has('5xx'));
  }

  /**
   * An upstream 4xx the client is not to blame for (a rejected key, no billing or quota, an unknown
   * model id: the client sees a 5xx) is the deployment's; no wait clears it: it is out for the
   * breaker's cool-down, as after a failure, and the request that got it does not wait for it.
   */
  private ownTrouble(error: GatewayError): boolean {
    const status = error.upstreamStatus;
    return typeof status === 'number' && status < 500 && error.status >= 500 && !error.retryable;
  }

  /** What an attempt's error says about the deployment. `retry`: the request failed on it already (Verdict's `repeat`). */
  private verdict(error: GatewayError, clientSignal: AbortSignal, retry = false): Verdict {
    const status = error.upstreamStatus;
    // The client left, the deadline passed, or the gateway itself failed: the upstream was not judged.
    if (clientSignal.aborted || status === undefined) return { kind: 'no-verdict' };
    // The upstream's wait to the millisecond where it said one (retry-after-ms, Retry-After: 0.3); the header is whole seconds.
    const retryAfterMs = RETRY_AFTER_STATUSES.has(status)
      ? (error.retryAfterMs ?? Number(error.headers['retry-after']) * 1000) || undefined
      : undefined;
    if (this.ownTrouble(error)) {
      // Told to every request refused while it lasts (eligibility.ts, refusedAccount): what the code says, not the upstream's
      // words, which may be about this request's own content (another tenant's file name) and not theirs to read.
      const trouble = {
        status: error.status,
        message: `its upstream ${accountHint(error.code) ?? `refused the gateway with HTTP ${status}`}.`,
        type: error.type,
        code: error.code,
        upstreamStatus: status as number,
      };
      return { kind: 'failed', retryAfterMs: this.config.router.breaker.cooldownMs, trouble };
    }
    if (status === 429) return { kind: 'rate-limited', retryAfterMs: retryAfterMs ?? DEFAULT_RATE_LIMIT_MS };
    // A client error is the upstream judging the request: it is up.
    if (typeof status === 'number' && status < 500) return { kind: 'answered', judged: true };
    // A 5xx is an answer about this request, which may be its own doing; a connection failure is the deployment's alone.
    const why = status === 'timeout' ? { timedOut: true } : typeof status === 'number' ? { errorAnswer: true, repeat: retry } : {};
    return { kind: 'failed', retryAfterMs, ...why };
  }

  /**
   * A child signal that aborts with `reason()` after `ms`, or when the parent aborts, or when `leaving`
   * aborts before `sent()` was called (a whole answer's client left while its request was unsent: runWhole).
   * `clear()` stops the timer only: a stream that started keeps following the parent, and
   * `later` sets another timer on it (a stream's bound), which the function it returns stops, detaching too;
   * `detach()` stops following the parent and `leaving`.
   * The reason is built only on timeout: an Error's stack trace is too costly per request.
   */
  private withTimeout(parent: AbortSignal, ms: number, reason: () => GatewayError, leaving?: AbortSignal) {
    const ac = new AbortController();
    const relay = () => ac.abort(parent.reason);
    if (parent.aborted) ac.abort(parent.reason);
    else parent.addEventListener('abort', relay, { once: true });
    // Sent or not is a flag the transport sets (from undici's onRequestSent): nothing more on the request's path.
    let unsent = true;
    let timedOut = false;
    const leave = leaving && (() => unsent && ac.abort(leaving.reason));
    if (leave) leaving!.addEventListener('abort', leave, { once: true });
    const abortAfter = (after: number, why: () => GatewayError) => this.clock.after(after, () => ac.abort(why()));
    const detach = () => {
      parent.removeEventListener('abort', relay);
      if (leave) leaving!.removeEventListener('abort', leave);
    };
    return {
      signal: ac.signal,
      clear: abortAfter(ms, () => {
        timedOut = true;
        return reason();
      }),
      /** The attempt's own timeout (attemptMs; not the deadline's cut) fired while its request was not sent yet. */
      timedOutUnsent: () => timedOut && unsent && ac.signal.reason instanceof GatewayError && ac.signal.reason.code === 'upstream_timeout',
      // Once the stream is over, its listener on the client's signal goes too: left there, it kept the attempt's
      // signal and what listens to it reachable with the request (~1 KB a streamed request promoted to old space).
      later: (after: number, why: () => GatewayError) => {
        const stop = abortAfter(after, why);
        return () => {
          stop();
          detach();
        };
      },
      sent: () => void (unsent = false),
      wasSent: () => !unsent,
      detach,
    };
  }
}

/** The capped exponential step, the most a retry waits (full jitter: a random share of it). */
function backoff(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** (attempt - 1));
}

function attemptTimeout(ms: number): GatewayError {
  return new GatewayError(504, `The upstream did not answer within ${ms} ms.`, 'timeout_error', 'upstream_timeout', null, {}, true).from(
    'timeout',
  );
}

/**
 * An attempt that waited `ms` for one of its provider's connections (maxConnections, all busy) and was never sent: not
 * the upstream's timeout, which it never had. Retryable, with a second's Retry-After: a connection frees when a request ends.
 */
function connectionsBusy(deployment: Deployment, ms: number): GatewayError {
  const message = `Every connection to provider ${deployment.provider.name} (its maxConnections) stayed busy for ${ms} ms; the request was not sent upstream.`;
  return new GatewayError(503, message, 'server_error', 'connections_busy', null, { 'retry-after': '1' }, true);
}

/** A stream cut at router.timeouts.streamMs: the upstream's doing (a stream that does not end), as an idle one's timeout. */
function streamTimeout(ms: number): GatewayError {
  return new GatewayError(
    504,
    `The upstream's stream did not end within ${ms} ms of the request (router.timeouts.streamMs).`,
    'timeout_error',
    'upstream_timeout',
    null,
    {},
    true,
  ).from('timeout');
}

/** A run still waiting when the drain's grace ends: refused at once, not cut then with no answer. */
function shuttingDown(group: string, retryAfter: number): GatewayError {
  const message = `The gateway is shutting down and no deployment of ${group} is back before its drain ends; retry the request.`;
  return new GatewayError(503, message, 'server_error', 'shutting_down', null, { 'retry-after': String(retryAfter) });
}

/**
 * Whether an attempt's error is its deployment's adapter refusing to encode the request (a 400 of the gateway's own,
 * thrown before anything was sent: Gemini's schema bounds, a content part or message its vendor cannot read, a
 * parameter only that vendor refuses): a request another deployment of the group may take (README, Routing).
 */
function cannotEncode(error: GatewayError, sent: boolean): boolean {
  return !sent && error.status === 400 && error.upstreamStatus === undefined;
}

function deadlineError(ms: number): GatewayError {
  return new GatewayError(
    504,
    `The request deadline of ${ms} ms passed before any deployment answered.`,
    'timeout_error',
    'deadline_exceeded',
  );
}

/** Whatever an attempt threw, as the error the client should see. */
export function asGatewayError(err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (signal.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (signal.aborted) return GatewayError.clientClosed();
  // The client sees a bare 500; the log (error.filter.ts) shows what was thrown, as its cause.
  const internal = new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error');
  internal.cause = err;
  return internal;
}
