/**
 * Polls `check` until it holds, for up to ~30 s: tests wait for states the gateway reaches (a
 * background Redis connection up, requests parked), not for time, and fail only if they never come.
 */
export async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 1_500; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
