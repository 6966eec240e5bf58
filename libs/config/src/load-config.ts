import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { GatewayConfig } from './gateway-config';

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

/** Raised for any problem with the configuration; the message names the offending key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables that override the file, as `ENV -> server.<key>` with its parser. */
const SERVER_ENV: Record<string, [keyof GatewayConfig['server'], (v: string) => unknown]> = {
  PORT: ['port', Number],
  HOST: ['host', String],
  LOG_LEVEL: ['logLevel', String],
  BODY_LIMIT_BYTES: ['bodyLimitBytes', Number],
  SHUTDOWN_GRACE_MS: ['shutdownGraceMs', Number],
  KEEP_ALIVE_TIMEOUT_MS: ['keepAliveTimeoutMs', Number],
  LOG_BODIES: ['logBodies', (v) => v === 'true' || v === '1'],
};

/**
 * Reads, overrides from the environment and validates the gateway config.
 * Throws ConfigError naming the first bad key; the caller exits before listening.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const path = resolve(env.GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read gateway config ${path}: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') throw new ConfigError(`gateway config ${path} is empty or not a mapping`);
  return parseConfig(raw as Record<string, unknown>, env, path);
}

export function parseConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, source = 'config'): GatewayConfig {
  const server = { ...((raw.server as object) ?? {}) } as Record<string, unknown>;
  for (const [name, [key, parse]] of Object.entries(SERVER_ENV)) {
    if (env[name] !== undefined && env[name] !== '') server[key] = parse(env[name]!);
  }
  const merged = { ...raw, server, redisUrl: env.REDIS_URL || raw.redisUrl || undefined };

  const config = plainToInstance(GatewayConfig, merged, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) throw new ConfigError(`invalid gateway config (${source}): ${describe(errors)}`);
  checkReferences(config, source);
  return config;
}

function checkReferences(config: GatewayConfig, source: string): void {
  const fail = (msg: string) => {
    throw new ConfigError(`invalid gateway config (${source}): ${msg}`);
  };
  const providers = new Set<string>();
  config.providers.forEach((p, i) => {
    if (providers.has(p.name)) fail(`providers[${i}].name: duplicate provider "${p.name}"`);
    providers.add(p.name);
    if (p.type === 'openai-compatible' && !p.baseUrl && !p.baseUrlEnv) {
      fail(`providers[${i}].baseUrl: required for type openai-compatible`);
    }
    // Without a key of ours, the vendor SDKs would look for credentials of their own (env, profiles on disk).
    if ((p.type === 'anthropic' || p.type === 'gemini') && !p.apiKeyEnv) {
      fail(`providers[${i}].apiKeyEnv: required for type ${p.type}`);
    }
  });
  const names = new Set<string>();
  config.models.forEach((m, i) => {
    for (const name of [m.name, ...(m.aliases ?? [])]) {
      if (names.has(name)) fail(`models[${i}]: model name or alias "${name}" is declared twice`);
      names.add(name);
    }
    m.deployments.forEach((d, j) => {
      if (!providers.has(d.provider)) fail(`models[${i}].deployments[${j}].provider: unknown provider "${d.provider}"`);
    });
  });
}

/** Flattens class-validator's error tree into `a.b[0].c: problem` strings. */
function describe(errors: ValidationError[], prefix = ''): string {
  const parts: string[] = [];
  for (const e of errors) {
    const key = /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) parts.push(`${key}: ${Object.values(e.constraints).join('; ')}`);
    if (e.children?.length) parts.push(describe(e.children, key));
  }
  return parts.join(', ');
}
