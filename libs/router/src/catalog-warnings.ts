import type { GatewayConfig } from '@gateway/config';
import type { ModelGroup } from './model-catalog';

/**
 * What the enabled model table does that its reader may not expect, one line each for the
 * start-up log: a deployment without a `price` is billed $0, so a key's budget never
 * holds it back; a provider no model uses serves nothing however its key is set; a virtual
 * model's rule (or default) that picks a model none of whose providers is enabled answers 404.
 * None stops start-up: keys with budgets can be created later through the admin API, and a
 * provider's key set later (a restart) brings its models back.
 */
export function catalogWarnings(config: GatewayConfig, groups: ModelGroup[], enabledProviders: string[]): string[] {
  const budgeted = config.security.keys.filter((k) => k.budget).map((k) => k.id);
  const budgets = budgeted.length ? `; the budgets of keys ${budgeted.join(', ')} do not limit it` : '';
  const unpriced = groups.flatMap((g) =>
    g.deployments
      .filter((d) => d.provider.type !== 'mock' && !d.config.price)
      .map(
        (d) => `deployment ${d.id} (${d.provider.name} ${d.upstreamModel}) has no price: it costs $0, not held against budgets${budgets}`,
      ),
  );
  const used = new Set(config.models.flatMap((m) => m.deployments.map((d) => d.provider)));
  const unused = enabledProviders
    .filter((name) => !used.has(name))
    .map((name) => `provider ${name} is enabled but no model uses it: add a models entry with a deployment on it`);
  return [...unpriced, ...unused, ...unservedRoutes(config, groups)];
}

/** A line for each route of a virtual model to a model (name or alias) whose group has no enabled deployment. */
function unservedRoutes(config: GatewayConfig, groups: ModelGroup[]): string[] {
  const serving = new Set(groups.filter((g) => g.deployments.length).flatMap((g) => [g.name, ...(g.config.aliases ?? [])]));
  return config.virtualModels.flatMap((v) =>
    [...v.rules.map((r): [string, string] => [`rule ${r.name}`, r.model]), ['its default', v.default]]
      .filter(([, model]) => !serving.has(model))
      .map(
        ([route, model]) =>
          `virtual model ${v.name}: ${route} routes to model ${model}, none of whose providers is enabled: the requests it takes get 404`,
      ),
  );
}
