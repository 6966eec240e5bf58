import { isObject } from 'class-validator';

/**
 * Environment variables that override keys of the file. A value that is not of its kind is
 * refused, naming the variable: read as a default (LOG_BODIES=yes as false, PORT=" " as 0,
 * a random port) it would change behaviour without a word.
 */
const KINDS = {
  integer: { expected: 'an integer', parse: (v: string) => (/^\s*-?\d+\s*$/.test(v) ? Number(v) : undefined) },
  flag: { expected: 'true, false, 1 or 0', parse: parseFlag },
  text: { expected: 'text', parse: (v: string) => v },
};

/** `ENV -> [key of the section, kind of value]`. */
type Overrides = Record<string, [key: string, kind: keyof typeof KINDS]>;

export const SERVER_ENV: Overrides = {
  PORT: ['port', 'integer'],
  HOST: ['host', 'text'],
  METRICS_PORT: ['metricsPort', 'integer'],
  METRICS_HOST: ['metricsHost', 'text'],
  LOG_LEVEL: ['logLevel', 'text'],
  BODY_LIMIT_BYTES: ['bodyLimitBytes', 'integer'],
  SHUTDOWN_GRACE_MS: ['shutdownGraceMs', 'integer'],
  SHUTDOWN_DELAY_MS: ['shutdownDelayMs', 'integer'],
  SHUTDOWN_SCRAPE_MS: ['shutdownScrapeMs', 'integer'],
  KEEP_ALIVE_TIMEOUT_MS: ['keepAliveTimeoutMs', 'integer'],
  LOG_BODIES: ['logBodies', 'flag'],
};

export const REDIS_ENV: Overrides = {
  REDIS_CLUSTER: ['cluster', 'flag'],
  REDIS_TLS_CA_FILE: ['tlsCaFile', 'text'],
};

/**
 * Where a config value came from: `set(key, variable)` for each key a variable overrode, so that a
 * value refused later (out of range, not one of the allowed) is named by the variable that holds
 * it, not by a key whose value in the file is fine.
 */
export type EnvSources = Map<string, string>;

/**
 * `section` (at `path` in the config) of the file with the variables of `overrides` that are set
 * (and not empty) applied, each noted in `sources`. A section that is not a mapping is returned as
 * it is, for validation to refuse.
 */
export function withEnvOverrides(
  section: unknown,
  path: string,
  overrides: Overrides,
  env: NodeJS.ProcessEnv,
  fail: (msg: string) => never,
  sources: EnvSources,
): unknown {
  if (section !== undefined && !isObject(section)) return section;
  const result: Record<string, unknown> = { ...section };
  for (const [name, [key, kind]] of Object.entries(overrides)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = KINDS[kind].parse(text);
    if (value === undefined) fail(`${name}: expected ${KINDS[kind].expected}, got "${text}"`);
    result[key] = value;
    sources.set(`${path}.${key}`, name);
  }
  return result;
}

/** true / false / 1 / 0 in any case; undefined for anything else. */
function parseFlag(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}
