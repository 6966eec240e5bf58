import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '@gateway/providers';

/** Per-request cache controls, from request headers. */
export interface CacheControls {
  /** False: do not serve from the cache (skip-lookup, refresh, `Cache-Control: no-cache`). */
  lookup: boolean;
  /** False: do not store the answer (skip-store, `Cache-Control: no-store`, TTL 0). */
  store: boolean;
  ttlSeconds?: number;
  /** Semantic similarity threshold for this request: applied only when above the configured one. */
  threshold?: number;
}

export const CACHE_HEADERS = {
  skipLookup: 'x-gateway-cache-skip-lookup',
  skipStore: 'x-gateway-cache-skip-store',
  /** Skip the lookup and store the fresh answer over the cached one. */
  refresh: 'x-gateway-cache-refresh',
  ttl: 'x-gateway-cache-ttl',
  threshold: 'x-gateway-cache-threshold',
  /** Response header: hit-exact | hit-semantic; similarity=0.97 | hit-coalesced | miss | bypass. */
  result: 'x-gateway-cache',
} as const;

export const DEFAULT_CONTROLS: CacheControls = Object.freeze({ lookup: true, store: true });

/** Reads the cache headers; a malformed value is a 400 naming the header. */
export function parseControls(headers: IncomingHttpHeaders): CacheControls {
  const skipLookup = flag(headers, CACHE_HEADERS.skipLookup);
  const skipStore = flag(headers, CACHE_HEADERS.skipStore);
  const refresh = flag(headers, CACHE_HEADERS.refresh);
  // Any whole number is capped at maxTtlSeconds ("forever" may be written 9999999999); the length bound only
  // keeps the value a finite number.
  const ttl = number(headers, CACHE_HEADERS.ttl, /^\d{1,32}$/, 0, Infinity, 'a whole number of seconds (32 digits at most)');
  const threshold = number(headers, CACHE_HEADERS.threshold, /^(0(\.\d+)?|1(\.0+)?)$/, 0, 1, 'a number from 0 to 1');
  const directives = cacheControl(headers['cache-control']);
  if (!skipLookup && !skipStore && !refresh && ttl === undefined && threshold === undefined && !directives.size) {
    return DEFAULT_CONTROLS;
  }
  return {
    lookup: !skipLookup && !refresh && !directives.has('no-cache'),
    store: !skipStore && !directives.has('no-store') && ttl !== 0,
    ttlSeconds: ttl,
    threshold,
  };
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function flag(headers: IncomingHttpHeaders, name: string): boolean {
  const value = single(headers, name)?.trim().toLowerCase();
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw invalid(name, 'true or false');
}

function number(headers: IncomingHttpHeaders, name: string, shape: RegExp, min: number, max: number, what: string): number | undefined {
  const value = single(headers, name)?.trim();
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!shape.test(value) || parsed < min || parsed > max) throw invalid(name, what);
  return parsed;
}

function cacheControl(value: string | undefined): Set<string> {
  if (!value) return new Set();
  return new Set(
    value
      .split(',')
      .map((d) => d.trim().toLowerCase().split('=')[0])
      .filter(Boolean),
  );
}

function invalid(header: string, expected: string): GatewayError {
  return GatewayError.badRequest(`Header ${header} must be ${expected}.`, header, 'invalid_cache_header');
}
