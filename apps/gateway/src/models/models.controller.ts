import { Controller, Get, Headers, Param, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { deploymentKind } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { ModelCatalog, type ModelGroup, RouterService } from '@gateway/router';
import { listedNames, mayUseModel } from '@gateway/security';
import { anthropicModel, anthropicModelList, type ModelLimits, type ModelPageQuery } from '../messages/models';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * GET /v1/models: what the caller's key can ask for now: models with an enabled provider,
 * and virtual models (task routers) that route to one, which are owned by the gateway. Anthropic
 * SDKs (they send `anthropic-version`) get the list in Anthropic's shape, a page at a time (its `limit`,
 * `after_id`, `before_id`); OpenAI's is the whole list.
 */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly router: RouterService,
  ) {}

  @Get()
  list(@Req() request: FastifyRequest, @Query() page: ModelPageQuery, @Headers('anthropic-version') anthropic?: string) {
    const key = request.gatewayKey;
    // As OpenAI lists them: only what the key may use, under the names that pass its check.
    const groups = this.catalog
      .available()
      .flatMap((g) =>
        listedNames(key, g.name, g.config.aliases).map((name) => ({ model: this.toModel(name, g.deployments[0].provider.name), group: g })),
      );
    const virtual = this.router
      .virtualModelNames()
      .flatMap((name) => listedNames(key, name).map((id) => ({ model: this.toModel(id, 'ai-gateway'), group: undefined })));
    const listed = [...groups, ...virtual];
    if (anthropic === undefined) return { object: 'list', data: listed.map(({ model }) => model) };
    return anthropicModelList(
      listed.filter(({ group }) => !embeddingsOnly(group)).map(({ model, group }) => ({ ...model, ...limitsOf(group) })),
      page,
    );
  }

  /** A model the key may not use is unknown to it: the same 404 as a model that does not exist, as OpenAI answers. */
  @Get(':id')
  get(@Req() request: FastifyRequest, @Param('id') id: string, @Headers('anthropic-version') anthropic?: string) {
    const key = request.gatewayKey;
    // Before resolving: why a model cannot serve (its providers disabled) is for keys that may use it.
    if (key && !mayUseModel(key, id, this.catalog.find(id)?.name ?? id)) throw GatewayError.modelNotFound(id);
    const group = this.router.isVirtualModel(id) ? undefined : this.catalog.resolve(id);
    const model = this.toModel(id, group ? group.deployments[0].provider.name : 'ai-gateway');
    if (anthropic === undefined) return model;
    if (embeddingsOnly(group)) throw GatewayError.modelNotFound(id);
    return anthropicModel({ ...model, ...limitsOf(group) });
  }

  private toModel(id: string, ownedBy: string): ModelObject {
    return { id, object: 'model', created: this.created, owned_by: ownedBy };
  }
}

/** A group's largest bounds, which its router reaches by choosing the deployment; unknown for a virtual model's. */
function limitsOf(group: ModelGroup | undefined): ModelLimits {
  const largest = (bounds: (number | undefined)[]) =>
    group && bounds.every((b) => b !== undefined) ? Math.max(...(bounds as number[])) : null;
  const deployments = group?.deployments ?? [];
  return {
    maxInputTokens: largest(deployments.map((d) => d.config.contextWindow)),
    maxTokens: largest(deployments.map((d) => d.config.maxOutputTokens)),
  };
}

/** An embeddings model, which the Messages API cannot use: not in Anthropic's list (the SDKs list models to message). */
function embeddingsOnly(group: ModelGroup | undefined): boolean {
  return !!group && group.deployments.every((d) => deploymentKind(d.config) === 'embeddings');
}
