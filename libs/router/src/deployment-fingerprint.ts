import { createHash } from 'node:crypto';
import { type DeploymentConfig, deploymentId, type GatewayConfig, type ProviderConfig } from '@gateway/config';

/**
 * What a deployment is, as opposed to where it sits in its group: the key of its health shared
 * through Redis. A positional key (`<group>/<index>`) would hand a removed deployment's open breaker
 * to whichever one moved into its place when the config changes. Made of the provider type, the
 * base URL (after baseUrlEnv), the account (the NAME of the variable holding the key, never the key,
 * and the provider's extra headers, which may name a project or organization) and the upstream model, hashed short, so it is the same on every replica and every restart, in
 * any order of the config. Two deployments that call the same model on the same account, in one
 * group or two, share it and so their health: the upstream that fails or rate-limits is the same.
 * A mock provider has no upstream nor account: its name stands for them (its behaviour is its own).
 */
export function deploymentFingerprint(provider: ProviderConfig, model: string): string {
  const account = provider.type === 'mock' ? `mock:${provider.name}` : (provider.apiKeyEnv ?? '');
  const parts = [provider.type, (provider.baseUrl ?? '').replace(/\/+$/, ''), account, model];
  // Extra headers may pick the account too (OpenAI-Project / -Organization: one key, several projects, each with its
  // own limits and model access: recheck30b D2); by name in any case and order. None: the parts as they were.
  const headers = Object.entries(provider.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]);
  if (headers.length) parts.push(JSON.stringify(headers.sort(([a], [b]) => (a! < b! ? -1 : 1))));
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

/** Each deployment of `config` whose provider it declares: its id (deploymentId) and fingerprint, with its config. */
export function fingerprintedDeployments(config: GatewayConfig): { id: string; fingerprint: string; config: DeploymentConfig }[] {
  const providers = new Map(config.providers.map((p) => [p.name, p]));
  return config.models.flatMap((model) =>
    model.deployments.flatMap((d, i) => {
      const provider = providers.get(d.provider);
      return provider ? [{ id: deploymentId(model.name, d, i), fingerprint: deploymentFingerprint(provider, d.model), config: d }] : [];
    }),
  );
}
