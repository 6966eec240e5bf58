/**
 * `work`'s answer, or a rejection (a `TimeoutError`) once `ms` have passed: a Redis that does not
 * answer in time is given up, not waited on. The timer is cleared either way.
 */
export async function withinBudget<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
