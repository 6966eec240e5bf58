import type { GatewayConfig } from './gateway-config';

/**
 * The secret held by the environment variable `name`, without the whitespace around it. A Secret made
 * with `kubectl create secret --from-file` from a file ending in a line break (or a CR LF, a BOM) holds
 * it: sent as it is, no client could ever present the key (HTTP header values cannot carry a line
 * break, and parsers drop surrounding spaces) and no vendor would take it (undici refuses the header).
 * Every reader of a secret variable reads it through here; whitespace inside is refused at start
 * (secretWithWhitespace). Empty when the variable holds only whitespace.
 */
export function secretFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name]?.trim();
}

/** The variables holding the config's keys, admin keys and provider keys (GATEWAY_MASTER_KEY apart). */
function keyVariables(config: GatewayConfig): string[] {
  return [
    ...config.security.keys.map((k) => k.keyEnv),
    ...config.security.adminKeys.map((k) => k.keyEnv),
    ...config.providers.flatMap((p) => (p.apiKeyEnv ? [p.apiKeyEnv] : [])),
  ];
}

/**
 * The secrets the configuration names: the master key, and the values of the environment
 * variables holding the config's keys, admin keys and provider keys. Logged bodies lose
 * them exactly, whatever their shape (BodyRedactor).
 */
export function configSecrets(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  return [config.masterKey, ...keyVariables(config).map((name) => secretFromEnv(name, env))].filter((secret): secret is string =>
    Boolean(secret),
  );
}

/**
 * The first secret variable whose value has whitespace inside (a space, a tab, a line break between
 * two parts): trimming cannot tell which part is the key, and as it is no client could present it.
 */
export function secretWithWhitespace(config: GatewayConfig, env: NodeJS.ProcessEnv): string | undefined {
  return ['GATEWAY_MASTER_KEY', ...keyVariables(config)].find((name) => /\s/.test(secretFromEnv(name, env) ?? ''));
}
