/**
 * CPU microseconds a call of `call` (user + system, this process), in `rounds` rounds of `iterations` calls after
 * `warmup` calls, sorted: the rounds' spread shows the host's noise, their median is the figure.
 */
export async function cpuMicrosPerCall(call: () => unknown, iterations: number, rounds: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const perCall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await call();
    const used = process.cpuUsage(start);
    perCall.push((used.user + used.system) / iterations);
  }
  return perCall.sort((a, b) => a - b);
}
