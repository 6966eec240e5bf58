import type { DeploymentConfig } from './gateway-config';

/**
 * What logs, metric labels and headers call a deployment: its `id` when the config gives one, else
 * `<model group>/<index>`. Stable across replicas, bounded, safe as a metric label. Not its key in
 * Redis, which is what the deployment is rather than where it sits (deploymentFingerprint, router).
 */
export function deploymentId(group: string, deployment: DeploymentConfig, index: number): string {
  return deployment.id ?? `${group}/${index}`;
}
