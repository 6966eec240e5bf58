import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { CHAT_CAPABILITIES, deploymentKind, GatewayConfig, type ModelKind } from './gateway-config';
import { redisFromEnv } from './redis-config';
import { applyVendorPrices } from './vendor-prices';

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

/** Raised for any problem with the configuration; the message names the offending key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables that override the file, as `ENV -> server.<key>` with its parser. */
const SERVER_ENV: Record<string, [keyof GatewayConfig['server'], (v: string) => unknown]> = {
  PORT: ['port', Number],
  HOST: ['host', String],
  METRICS_PORT: ['metricsPort', Number],
  METRICS_HOST: ['metricsHost', String],
  LOG_LEVEL: ['logLevel', String],
  BODY_LIMIT_BYTES: ['bodyLimitBytes', Number],
  SHUTDOWN_GRACE_MS: ['shutdownGraceMs', Number],
  SHUTDOWN_DELAY_MS: ['shutdownDelayMs', Number],
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
  if ('masterKey' in raw)
    throw new ConfigError(`invalid gateway config (${source}): masterKey: set GATEWAY_MASTER_KEY in the environment, not in the file`);
  const merged = {
    ...raw,
    server,
    providers: withBaseUrlOverrides(raw.providers, env),
    redisUrl: env.REDIS_URL || raw.redisUrl || undefined,
    redis: redisFromEnv(raw.redis, env),
    masterKey: env.GATEWAY_MASTER_KEY || undefined,
  };

  const config = plainToInstance(GatewayConfig, merged, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) throw new ConfigError(`invalid gateway config (${source}): ${describe(errors)}`);
  checkReferences(config, source);
  applyVendorPrices(config);
  return config;
}

/** A provider's `baseUrlEnv`, when set in the environment, replaces its `baseUrl` (validated like it). */
function withBaseUrlOverrides(providers: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!Array.isArray(providers)) return providers;
  return providers.map((p: { baseUrlEnv?: unknown }) =>
    p && typeof p.baseUrlEnv === 'string' && env[p.baseUrlEnv] ? { ...p, baseUrl: env[p.baseUrlEnv] } : p,
  );
}

function checkReferences(config: GatewayConfig, source: string): void {
  const fail = (msg: string) => {
    throw new ConfigError(`invalid gateway config (${source}): ${msg}`);
  };
  const providers = new Set<string>();
  config.providers.forEach((p, i) => {
    if (providers.has(p.name)) fail(`providers[${i}].name: duplicate provider "${p.name}"`);
    providers.add(p.name);
    if (p.type === 'openai-compatible' && !p.baseUrl) {
      fail(`providers[${i}].baseUrl: required for type openai-compatible (in the file, or through baseUrlEnv)`);
    }
    // Without a key of ours, the vendor SDKs would look for credentials of their own (env, profiles on disk).
    if ((p.type === 'anthropic' || p.type === 'gemini') && !p.apiKeyEnv) {
      fail(`providers[${i}].apiKeyEnv: required for type ${p.type}`);
    }
  });
  const names = new Set<string>();
  const kinds = new Map<string, ModelKind>();
  config.models.forEach((m, i) => {
    for (const name of [m.name, ...(m.aliases ?? [])]) {
      if (names.has(name)) fail(`models[${i}]: model name or alias "${name}" is declared twice`);
      names.add(name);
      kinds.set(name, deploymentKind(m.deployments[0]));
    }
    m.deployments.forEach((d, j) => {
      if (!providers.has(d.provider)) fail(`models[${i}].deployments[${j}].provider: unknown provider "${d.provider}"`);
      const where = `models[${i}].deployments[${j}].capabilities`;
      const kind = deploymentKind(d);
      if (kind === 'embeddings' && d.capabilities!.some((c) => CHAT_CAPABILITIES.includes(c)))
        fail(`${where}: an embeddings deployment declares no chat capabilities (${CHAT_CAPABILITIES.join(', ')})`);
      if (kind !== deploymentKind(m.deployments[0]))
        fail(`${where}: every deployment of a model is the same kind (chat, or embeddings when it declares embeddings)`);
    });
  });
  config.virtualModels.forEach((v, i) => {
    if (names.has(v.name)) fail(`virtualModels[${i}].name: "${v.name}" is already a model name or alias`);
    const targets = [...v.rules.map((r, j) => [`rules[${j}].model`, r.model]), ['default', v.default]];
    for (const [key, target] of targets) {
      if (!names.has(target)) fail(`virtualModels[${i}].${key}: unknown model "${target}"`);
      if (kinds.get(target) !== 'chat') fail(`virtualModels[${i}].${key}: "${target}" is an embeddings model; virtual models route chat`);
    }
    v.rules.forEach((r, j) => {
      try {
        if (r.match.pattern) new RegExp(r.match.pattern, 'i');
      } catch (err) {
        fail(`virtualModels[${i}].rules[${j}].match.pattern: ${(err as Error).message}`);
      }
      r.match.keywords?.forEach((keyword, k) => {
        if (!keyword.trim()) fail(`virtualModels[${i}].rules[${j}].match.keywords[${k}]: a keyword is a word or phrase, not blank`);
      });
    });
  });
  if (!config.masterKey && !isLoopback(config.server.host)) {
    fail(
      `server.host: listening on ${config.server.host} needs GATEWAY_MASTER_KEY (auth is off without it, so the gateway only listens on loopback)`,
    );
  }
  const { port, metricsPort } = config.server;
  if (port !== 0 && port === metricsPort)
    fail(`server.metricsPort: ${metricsPort} is also server.port; the ops listener needs a port of its own`);
  config.security.keys.forEach((k, i) => {
    for (const model of k.models ?? []) {
      if (!names.has(model) && !config.virtualModels.some((v) => v.name === model))
        fail(`security.keys[${i}].models: unknown model "${model}"`);
    }
  });
  config.server.redactPatterns.forEach((pattern, i) => {
    try {
      new RegExp(pattern);
    } catch (err) {
      fail(`server.redactPatterns[${i}]: ${(err as Error).message}`);
    }
  });
  config.router.retry.fallbackOn.forEach((t, i) => {
    const ok =
      t === 'timeout' || t === 'connection' || t === '5xx' || (Number.isInteger(t) && (t as number) >= 400 && (t as number) <= 599);
    if (!ok) fail(`router.retry.fallbackOn[${i}]: expected an HTTP status 400-599, "5xx", "timeout" or "connection"`);
  });
  const semantic = config.cache.semantic;
  if (semantic.embeddingModel && !names.has(semantic.embeddingModel))
    fail(`cache.semantic.embeddingModel: unknown model "${semantic.embeddingModel}"`);
  if (semantic.embeddingModel && kinds.get(semantic.embeddingModel) !== 'embeddings')
    fail(`cache.semantic.embeddingModel: "${semantic.embeddingModel}" does not declare the embeddings capability`);
  if (semantic.embeddingModel && !semantic.embeddingDimensions) fail('cache.semantic.embeddingDimensions: required with embeddingModel');
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

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
