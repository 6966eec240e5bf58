import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { deploymentId } from './deployment-id';
import { CHAT_CAPABILITIES, deploymentKind, GatewayConfig, type ModelKind } from './gateway-config';
import { secretFromEnv, secretWithWhitespace } from './config-secrets';
import { type EnvSources, REDIS_ENV, SERVER_ENV, withEnvOverrides } from './env-overrides';
import { redisUrls } from './redis-config';
import { TASK_PATTERN_FLAGS } from './router-config';
import { MAX_BUDGET_USD, unmatchedModel } from './security-config';
import { applyVendorPrices } from './vendor-prices';

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

/** Raised for any problem with the configuration; the message names the offending key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads, overrides from the environment and validates the gateway config.
 * Throws ConfigError naming the first bad key; the caller exits before listening.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const path = resolve(env.GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read gateway config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    // The YAML library's message goes on with a multi-line excerpt of the file; its first line names the line and column.
    throw new ConfigError(`invalid YAML in gateway config ${path}: ${(err as Error).message.split('\n')[0].replace(/:$/, '')}`);
  }
  if (!raw || typeof raw !== 'object') throw new ConfigError(`gateway config ${path} is empty or not a mapping`);
  const config = parseConfig(raw as Record<string, unknown>, env, path);
  // Read now, so that one that cannot be read stops start-up as a config error, not from inside the app's construction.
  if (config.redis.tlsCaFile) readTlsCa(config.redis.tlsCaFile);
  return config;
}

/** The PEM file `redis.tlsCaFile` names (REDIS_TLS_CA_FILE). */
export function readTlsCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`redis.tlsCaFile (REDIS_TLS_CA_FILE): cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The names a request may ask for: models, their aliases, virtual models. */
export function servedModelNames(config: GatewayConfig): string[] {
  return [...config.models.flatMap((m) => [m.name, ...(m.aliases ?? [])]), ...config.virtualModels.map((v) => v.name)];
}

export function parseConfig(file: Record<string, unknown>, env: NodeJS.ProcessEnv, source = 'config'): GatewayConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`invalid gateway config (${source}): ${msg}`);
  };
  if ('masterKey' in file) fail('masterKey: set GATEWAY_MASTER_KEY in the environment, not in the file');
  refusePrototypeKeys(file, '', fail);
  const raw = withoutNulls(file) as Record<string, unknown>;
  const sources: EnvSources = new Map();
  const merged = {
    ...raw,
    server: withEnvOverrides(raw.server, 'server', SERVER_ENV, env, fail, sources),
    providers: withBaseUrlOverrides(raw.providers, env, sources),
    redisUrl: env.REDIS_URL || raw.redisUrl || undefined,
    redis: withEnvOverrides(raw.redis, 'redis', REDIS_ENV, env, fail, sources),
    // Set but blank is a key too short, not auth off.
    masterKey: env.GATEWAY_MASTER_KEY ? secretFromEnv('GATEWAY_MASTER_KEY', env) : undefined,
  };

  const config = plainToInstance(GatewayConfig, merged, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) fail(describe(errors, sources));
  // A deadline set alone lowers the attempt timeout's default with it; both set must agree.
  const timeouts = config.router.timeouts;
  const attemptSet = (raw.router as { timeouts?: { attemptMs?: unknown } } | undefined)?.timeouts?.attemptMs !== undefined;
  if (!attemptSet) timeouts.attemptMs = Math.min(timeouts.attemptMs, timeouts.deadlineMs);
  checkAcrossKeys(config, fail);
  refuseUnpricedSides(raw, config, fail);
  const spaced = secretWithWhitespace(config, env);
  if (spaced)
    fail(
      `${spaced}: the key has whitespace inside (a space, tab or line break between its characters), which no client can send in a header; ` +
        'set the key alone (whitespace around it is dropped)',
    );
  checkKeySecrets(config, env, fail);
  checkOtlpEndpoints(env, fail);
  refuseSharedSecrets(config, env, fail);
  applyVendorPrices(config);
  return config;
}

/**
 * A `price` must say every side its deployment bills: a chat deployment's `input` and `output`, an
 * embeddings deployment's `input` (it generates no output). A side left out would be billed at $0
 * without a word (no price at all is warned of at start-up); a free side says 0. Read from the file
 * as written (`raw`, validated): the parsed price has the sides' default, 0, filled in.
 */
function refuseUnpricedSides(raw: Record<string, unknown>, config: GatewayConfig, fail: (msg: string) => never): void {
  const models = raw.models as { deployments: { price?: Record<string, unknown> }[] }[];
  config.models.forEach((m, i) =>
    m.deployments.forEach((d, j) => {
      const price = models[i].deployments[j].price;
      if (!price) return;
      for (const side of deploymentKind(d) === 'embeddings' ? ['input'] : ['input', 'output']) {
        if (price[side] === undefined)
          fail(
            `models[${i}].deployments[${j}].price.${side}: missing: deployment ${m.name}/${j} (${d.provider} ${d.model}) would bill its ${side} tokens at $0; ` +
              `set its rate (USD per million tokens), or ${side}: 0 for a free side`,
          );
      }
    }),
  );
}

/**
 * `value` without the null-valued keys of its mappings, at any depth. YAML gives null for a
 * key whose children are all commented out (`router:`); it means the section's defaults, as
 * an absent key does, and defaults only fill keys that are absent.
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

/** A provider's `baseUrlEnv`, when set in the environment, replaces its `baseUrl` (validated like it). */
function withBaseUrlOverrides(providers: unknown, env: NodeJS.ProcessEnv, sources: EnvSources): unknown {
  if (!Array.isArray(providers)) return providers;
  return providers.map((p: { baseUrlEnv?: unknown }, i) => {
    if (!p || typeof p.baseUrlEnv !== 'string' || !env[p.baseUrlEnv]) return p;
    sources.set(`providers[${i}].baseUrl`, p.baseUrlEnv);
    return { ...p, baseUrl: env[p.baseUrlEnv] };
  });
}

/** What one key cannot say alone: references between sections, duplicates, pairs of limits. */
function checkAcrossKeys(config: GatewayConfig, fail: (msg: string) => never): void {
  // A single Redis is one server: a second URL would be ignored, or taken for a cluster it is not.
  if (config.redisUrl && redisUrls(config.redisUrl).length > 1 && !config.redis.cluster) {
    fail('REDIS_URL: several URLs (comma-separated) name the seed nodes of a Redis Cluster: set REDIS_CLUSTER=true, or give one URL');
  }
  refuseDuplicates(config.providers, 'providers', 'name', fail);
  refuseDuplicates(config.virtualModels, 'virtualModels', 'name', fail);
  refuseDuplicates(config.security.keys, 'security.keys', 'id', fail);
  refuseDuplicates(config.security.adminKeys, 'security.adminKeys', 'id', fail);
  const providers = new Map(config.providers.map((p) => [p.name, p.type]));
  config.providers.forEach((p, i) => {
    if (p.type === 'openai-compatible' && !p.baseUrl) {
      fail(`providers[${i}].baseUrl: required for type openai-compatible (in the file, or through baseUrlEnv)`);
    }
    // Without a key of ours, the vendor SDKs would look for credentials of their own (env, profiles on disk).
    if ((p.type === 'anthropic' || p.type === 'gemini') && !p.apiKeyEnv) {
      fail(`providers[${i}].apiKeyEnv: required for type ${p.type}`);
    }
    // Only a mock provider reads it: on a real one it would be a test setting that silently does nothing.
    if (p.mock && p.type !== 'mock') fail(`providers[${i}].mock: only a provider of type mock takes a mock block (this one is ${p.type})`);
  });
  const names = new Set<string>();
  const kinds = new Map<string, ModelKind>();
  // Logs, metric labels and headers tell deployments apart by it: an `id` like another's (or like another's `<model>/<index>`) would not.
  const deploymentIds = new Map<string, string>();
  config.models.forEach((m, i) => {
    // Weighted picks would find no share to draw from and fall back to the reverse of the listed order.
    if (m.strategy === 'weighted' && m.deployments.every((d) => d.weight === 0))
      fail(`models[${i}].deployments: every weight is 0; the weighted strategy needs one above 0`);
    for (const name of [m.name, ...(m.aliases ?? [])]) {
      if (names.has(name)) fail(`models[${i}]: model name or alias "${name}" is declared twice`);
      names.add(name);
      kinds.set(name, deploymentKind(m.deployments[0]));
    }
    m.deployments.forEach((d, j) => {
      const id = deploymentId(m.name, d, j);
      const first = deploymentIds.get(id);
      if (first) fail(`models[${i}].deployments[${j}]: deployment id "${id}" is also ${first}'s`);
      deploymentIds.set(id, `models[${i}].deployments[${j}]`);
      if (!providers.has(d.provider)) fail(`models[${i}].deployments[${j}].provider: unknown provider "${d.provider}"`);
      const where = `models[${i}].deployments[${j}].capabilities`;
      const kind = deploymentKind(d);
      if (kind === 'embeddings' && providers.get(d.provider) === 'anthropic')
        fail(`${where}: provider "${d.provider}" is of type anthropic, which has no embeddings API`);
      if (d.capabilities?.includes('audio') && providers.get(d.provider) === 'anthropic')
        fail(`${where}: provider "${d.provider}" is of type anthropic, which takes no audio input`);
      if (kind === 'embeddings' && d.capabilities!.some((c) => CHAT_CAPABILITIES.includes(c)))
        fail(`${where}: an embeddings deployment declares no chat capabilities (${CHAT_CAPABILITIES.join(', ')})`);
      if (kind !== deploymentKind(m.deployments[0]))
        fail(`${where}: every deployment of a model is the same kind (chat, or embeddings when it declares embeddings)`);
    });
  });
  const virtualNames = new Set(config.virtualModels.map((v) => v.name));
  config.virtualModels.forEach((v, i) => {
    if (names.has(v.name)) fail(`virtualModels[${i}].name: "${v.name}" is already a model name or alias`);
    // The name says which rule fired (x-gateway-route): two alike, or one called like the default, would not.
    refuseDuplicates(v.rules, `virtualModels[${i}].rules`, 'name', fail);
    v.rules.forEach((r, j) => {
      if (r.name === 'default') fail(`virtualModels[${i}].rules[${j}].name: "default" names the route taken when no rule matches`);
    });
    const targets = [...v.rules.map((r, j) => [`rules[${j}].model`, r.model]), ['default', v.default]];
    for (const [key, target] of targets) {
      // One level only: a rule picks a model group, whose deployments are the plan.
      if (virtualNames.has(target))
        fail(
          `virtualModels[${i}].${key}: "${target}" is a virtual model; a virtual model routes to a model (models[].name or an alias), not to another virtual model`,
        );
      if (!names.has(target)) fail(`virtualModels[${i}].${key}: unknown model "${target}"`);
      if (kinds.get(target) !== 'chat') fail(`virtualModels[${i}].${key}: "${target}" is an embeddings model; virtual models route chat`);
    }
    v.rules.forEach(({ match }, j) => {
      const where = `virtualModels[${i}].rules[${j}].match`;
      const patternProblem = match.pattern && regExpProblem(match.pattern, TASK_PATTERN_FLAGS);
      if (patternProblem) fail(`${where}.pattern: ${patternProblem}`);
      if (match.minPromptTokens !== undefined && match.maxPromptTokens !== undefined && match.minPromptTokens > match.maxPromptTokens)
        fail(
          `${where}.minPromptTokens: ${match.minPromptTokens} is above maxPromptTokens (${match.maxPromptTokens}), so the rule never matches`,
        );
      match.keywords?.forEach((keyword, k) => {
        if (!keyword.trim()) fail(`${where}.keywords[${k}]: a keyword is a word or phrase, not blank`);
      });
    });
  });
  for (const [key, host] of [
    ['host', config.server.host],
    ['metricsHost', config.server.metricsHost],
  ] as const) {
    if (!config.masterKey && !isLoopback(host)) {
      fail(
        `server.${key}: listening on ${host} needs GATEWAY_MASTER_KEY (auth is off without it, so the gateway only listens on loopback: 127.0.0.0/8, ::1 or localhost)`,
      );
    }
  }
  const { port, metricsPort } = config.server;
  if (port !== 0 && port === metricsPort)
    fail(`server.metricsPort: ${metricsPort} is also server.port; the ops listener needs a port of its own`);
  const modelNames = servedModelNames(config);
  config.security.keys.forEach((k, i) => {
    const unmatched = unmatchedModel(k.models ?? [], modelNames);
    if (unmatched) fail(`security.keys[${i}].models: ${unmatched.problem}`);
  });
  config.server.redactPatterns.forEach((pattern, i) => {
    const problem = regExpProblem(pattern);
    if (problem) fail(`server.redactPatterns[${i}]: ${problem}`);
  });
  const { attemptMs, deadlineMs } = config.router.timeouts;
  if (attemptMs > deadlineMs)
    fail(
      `router.timeouts.attemptMs: ${attemptMs} is longer than deadlineMs (${deadlineMs}), which bounds every attempt (lower attemptMs with it)`,
    );
  const { backoffMs, maxBackoffMs } = config.router.retry;
  if (backoffMs > maxBackoffMs)
    fail(
      `router.retry.backoffMs: ${backoffMs} is above router.retry.maxBackoffMs (${maxBackoffMs}), which caps every backoff (raise maxBackoffMs with it, or lower backoffMs)`,
    );
  const { maxEntryBytes, tenantMaxMemoryMb } = config.router.reasoningState;
  if (maxEntryBytes > tenantMaxMemoryMb * 1024 * 1024)
    fail(
      `router.reasoningState.maxEntryBytes: ${maxEntryBytes} is more than tenantMaxMemoryMb (${tenantMaxMemoryMb} MiB): such a state would be dropped as it is written`,
    );
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
/**
 * What a config this release would refuse, had the last one not run with it: warned of at start-up, naming
 * the path (the admin API refuses the same for stored keys, with a 400). A budget over MAX_BUDGET_USD; a TPM
 * below the RPM, which makes the RPM unreachable as every request uses at least one token, for the limits
 * each key is held to, its own else the defaults (named as the key's own limit, `tpm` first, else the default).
 */
export function configWarnings(config: GatewayConfig): string[] {
  const { defaultRpm, defaultTpm, keys } = config.security;
  const why = 'every request uses at least one token, so the rpm can never be reached';
  const warnings: string[] = [];
  if (defaultRpm !== undefined && defaultTpm !== undefined && defaultTpm < defaultRpm) {
    warnings.push(`security.defaultTpm: ${defaultTpm} is below security.defaultRpm (${defaultRpm}): ${why}`);
  }
  keys.forEach((k, i) => {
    if (k.budget && k.budget.usd > MAX_BUDGET_USD) {
      warnings.push(`security.keys[${i}].budget.usd: ${k.budget.usd} is over ${MAX_BUDGET_USD}, which the admin API refuses (a typo?)`);
    }
    const rpm = k.rpm ?? defaultRpm;
    const tpm = k.tpm ?? defaultTpm;
    if (rpm === undefined || tpm === undefined || tpm >= rpm) return;
    if (k.tpm !== undefined)
      warnings.push(`security.keys[${i}].tpm: ${tpm} is below its rpm (${k.rpm ?? `${rpm}, security.defaultRpm`}): ${why}`);
    else warnings.push(`security.keys[${i}].rpm: ${rpm} is above its tpm (${tpm}, security.defaultTpm): ${why}`);
  });
  return warnings;
}

function describe(errors: ValidationError[], sources: EnvSources, prefix = ''): string {
  const parts: string[] = [];
  for (const e of errors) {
    const key = /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : prefix ? `${prefix}.${e.property}` : e.property;
    // A value a variable gave is named by the variable first: the key's value in the file may be fine.
    const named = sources.has(key) ? `${sources.get(key)} (${key})` : key;
    // A Set: two validators may say the same (a scalar where a section goes is neither a mapping nor nested).
    if (e.constraints) parts.push(`${named}: ${[...new Set(Object.values(e.constraints))].join('; ')}`);
    if (e.children?.length) parts.push(describe(e.children, sources, key));
  }
  return parts.join(', ');
}

/** Items of `list` whose `key` is one an earlier item has: the second is refused, naming the first. */
function refuseDuplicates<T>(list: T[], path: string, key: keyof T & string, fail: (msg: string) => never): void {
  const seen = new Map<unknown, number>();
  list.forEach((item, i) => {
    const first = seen.get(item[key]);
    if (first !== undefined) fail(`${path}[${i}].${key}: "${String(item[key])}" is also ${path}[${first}].${key}`);
    seen.set(item[key], i);
  });
}

/** Why `source` is not a regular expression, or undefined when it is one. */
function regExpProblem(source: string, flags?: string): string | undefined {
  try {
    new RegExp(source, flags);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Keys a YAML mapping can hold that a JavaScript object cannot mean: the config's classes
 * would never read them, so a setting under one would be silently ignored.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function refusePrototypeKeys(value: unknown, path: string, fail: (msg: string) => never): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const at = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!Array.isArray(value) && PROTOTYPE_KEYS.has(key)) fail(`${at}: "${key}" is not a setting`);
    refusePrototypeKeys(child, at, fail);
  }
}

/** The length GATEWAY_MASTER_KEY needs, asked of every key given in the environment (the admin API makes its own). */
const MIN_KEY_LENGTH = 16;

/**
 * Keys of `security.keys` and `security.adminKeys` short enough to be guessed, despite the per-address
 * failure limit, and keys of `security.keys` whose variable is unset or empty: a Secret that lacks one
 * team's entry would otherwise roll out healthy, that team refused with 401s. (An admin key left unset
 * is only disabled, with a warning: the master key still reaches the admin API.)
 */
function checkKeySecrets(config: GatewayConfig, env: NodeJS.ProcessEnv, fail: (msg: string) => never): void {
  config.security.keys.forEach(({ id, keyEnv }, i) => {
    if (!secretFromEnv(keyEnv, env))
      fail(`security.keys[${i}].keyEnv: ${keyEnv} is not set; key "${id}" needs its key there (at least ${MIN_KEY_LENGTH} characters)`);
  });
  for (const [list, keys] of [
    ['security.keys', config.security.keys],
    ['security.adminKeys', config.security.adminKeys],
  ] as const) {
    keys.forEach(({ keyEnv }, i) => {
      const length = secretFromEnv(keyEnv, env)?.length;
      if (length && length < MIN_KEY_LENGTH)
        fail(`${list}[${i}].keyEnv: ${keyEnv} holds a key of ${length} characters; a key is at least ${MIN_KEY_LENGTH}`);
    });
  }
}

/**
 * Keys of `security.keys` and `security.adminKeys` whose secret is GATEWAY_MASTER_KEY's or another
 * key's: a request with it would be taken for one of them only (the master key's requests counted
 * as a config key's, one id never used). Named by id and variable, never by the secret.
 */
function refuseSharedSecrets(config: GatewayConfig, env: NodeJS.ProcessEnv, fail: (msg: string) => never): void {
  const holders = new Map<string, { name: string; id: string }>();
  if (config.masterKey) holders.set(config.masterKey, { name: 'GATEWAY_MASTER_KEY', id: 'master' });
  for (const [list, keys] of [
    ['security.keys', config.security.keys],
    ['security.adminKeys', config.security.adminKeys],
  ] as const) {
    keys.forEach(({ id, keyEnv }, i) => {
      const secret = secretFromEnv(keyEnv, env);
      if (!secret) return;
      const first = holders.get(secret);
      if (first)
        fail(
          `${list}[${i}].keyEnv: ${keyEnv} holds the same key as ${first.name}; keys "${first.id}" and "${id}" need secrets of their own`,
        );
      holders.set(secret, { name: `${list}[${i}].keyEnv (${keyEnv})`, id });
    });
  }
}

/**
 * The OTLP/HTTP endpoints tracing exports to: an http:// or https:// URL. The usual slip,
 * `otel-collector:4318` without its scheme, is a URL of scheme `otel-collector:` (or none at all,
 * `127.0.0.1:4318`): the exporter then sent nothing, and said nothing, for the process's life.
 */
function checkOtlpEndpoints(env: NodeJS.ProcessEnv, fail: (msg: string) => never): void {
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const value = env[name];
    if (!value) continue;
    const url = URL.parse(value);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname)
      fail(`${name}: expected an http:// or https:// URL (such as http://otel-collector:4318)`);
  }
}

/** IP literals in 127.0.0.0/8 or ::1 (an IPv4-mapped 127.x too). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Loopback by its address, or `localhost`: a name such as `127.example.com` can resolve anywhere. */
function isLoopback(host: string): boolean {
  const family = isIP(host);
  return host === 'localhost' || (family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6'));
}
