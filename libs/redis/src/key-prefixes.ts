/**
 * The prefixes of keys the gateway writes outside `gateway:` and the configured ones (responses, threads, cache): named
 * here so the access check (access.ts) probes each (recheck34b D4: an ACL without the breakers' pattern went ready and
 * the breakers were never shared). The breakers' hash tag keeps all of them in one slot (one MGET loads them).
 */
export const BREAKER_KEY_PREFIX = '{gateway:breakers}:';
export const REASONING_KEY_PREFIX = 'gw:reasoning:';
