const TIMEOUT_MS = 30_000;

/**
 * Polls `check` until it holds, for up to 30 s: tests wait for states the gateway reaches (a
 * background Redis connection up, requests parked), not for time, and fail only if they never come.
 * Bounded by the clock, not by a count of checks: checks that take seconds each on a busy host
 * (HTTP requests to starved processes) ran 1,500 of them past the test timeout.
 */
export async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + TIMEOUT_MS; ; await new Promise((r) => setTimeout(r, 20))) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
  }
}
