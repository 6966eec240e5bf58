/**
 * Expired entries one script call forgets at most, in the bookkeeping that counts what is stored (the cache's cap,
 * stored responses' and threads' byte quota, reasoning state's bounds). Each costs a few commands, and a script holds
 * Redis (every replica's limits, budgets and leases) while it runs: 100,000 entries expiring together held it ~0.5 s
 * on the write after (recheck31a). The rest go on later calls.
 */
export const FORGET_EXPIRED_PER_CALL = 100;
