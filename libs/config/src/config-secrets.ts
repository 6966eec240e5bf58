import type { GatewayConfig } from './gateway-config';

/**
 * The secrets the configuration names: the master key, and the values of the environment
 * variables holding the config's keys, admin keys and provider keys. Logged bodies lose
 * them exactly, whatever their shape (BodyRedactor).
 */
export function configSecrets(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const names = [
    ...config.security.keys.map((k) => k.keyEnv),
    ...config.security.adminKeys.map((k) => k.keyEnv),
    ...config.providers.flatMap((p) => (p.apiKeyEnv ? [p.apiKeyEnv] : [])),
  ];
  return [config.masterKey, ...names.map((name) => env[name])].filter((secret): secret is string => Boolean(secret));
}
