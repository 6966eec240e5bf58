import { Injectable, Logger } from '@nestjs/common';
import { type Capability, type DeploymentConfig, deploymentId, GatewayConfig, type ModelConfig } from '@gateway/config';
import { GatewayError, type Provider, ProvidersService } from '@gateway/providers';
import { catalogWarnings } from './catalog-warnings';

/** A deployment whose provider is enabled: everything needed to call it. */
export interface Deployment {
  /** See deploymentId() (@gateway/config). */
  id: string;
  provider: Provider;
  upstreamModel: string;
  config: DeploymentConfig;
}

/** A public model (one name plus aliases) and the deployments that can serve it. */
export interface ModelGroup {
  name: string;
  config: ModelConfig;
  deployments: Deployment[];
}

/**
 * The public model table, resolved once at start-up: name or alias -> group with
 * its enabled deployments. Groups with none are kept so errors can say why.
 */
@Injectable()
export class ModelCatalog {
  private readonly byName = new Map<string, ModelGroup>();
  readonly groups: ModelGroup[];

  constructor(
    config: GatewayConfig,
    private readonly providers: ProvidersService,
  ) {
    this.groups = config.models.map((model) => ({
      name: model.name,
      config: model,
      deployments: model.deployments.flatMap((d, i) => {
        const provider = providers.get(d.provider);
        return provider ? [{ id: deploymentId(model.name, d, i), provider, upstreamModel: d.model, config: d }] : [];
      }),
    }));
    for (const group of this.groups) {
      for (const name of [group.name, ...(group.config.aliases ?? [])]) this.byName.set(name, group);
    }
    const logger = new Logger('Models');
    for (const warning of catalogWarnings(config, this.groups, providers.enabledNames())) logger.warn(warning);
  }

  /** Groups that can serve requests now. */
  available(): ModelGroup[] {
    return this.groups.filter((g) => g.deployments.length > 0);
  }

  /** Whether a public name or alias is a group that can serve requests now. */
  serves(model: string): boolean {
    return (this.byName.get(model)?.deployments.length ?? 0) > 0;
  }

  /**
   * Whether a public name or alias is a group that cannot serve `needs`: it has deployments enabled and none declares
   * every capability of them. (One with none enabled answers 404, as README says and start-up warns: not this.)
   */
  lacks(model: string, needs: readonly Capability[]): boolean {
    const deployments = needs.length ? this.byName.get(model)?.deployments : undefined;
    return !!deployments?.length && !deployments.some((d) => needs.every((n) => d.config.capabilities?.includes(n)));
  }

  /** The group a public name or alias names, whether or not it can serve. */
  find(model: string): ModelGroup | undefined {
    return this.byName.get(model);
  }

  /** The group for a public name or alias; 404 when unknown or when none of its providers is enabled. */
  resolve(model: string): ModelGroup {
    const group = this.find(model);
    if (!group) throw GatewayError.modelNotFound(model);
    if (!group.deployments.length) {
      const why = group.config.deployments.map((d) => `${d.provider}: ${this.providers.whyDisabled(d.provider)}`).join('; ');
      throw GatewayError.modelNotFound(model, `is configured but none of its providers is enabled (${why})`);
    }
    return group;
  }
}
