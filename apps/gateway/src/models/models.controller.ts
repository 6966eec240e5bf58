import { Controller, Get, Headers, Param, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { ModelCatalog, RouterService } from '@gateway/router';
import { listedNames, mayUseModel } from '@gateway/security';
import { anthropicModel, anthropicModelList, type ModelPageQuery } from '../messages/models';

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
      .flatMap((g) => listedNames(key, g.name, g.config.aliases).map((name) => this.toModel(name, g.deployments[0].provider.name)));
    const virtual = this.router.virtualModelNames().flatMap((name) => listedNames(key, name).map((id) => this.toModel(id, 'ai-gateway')));
    const data = [...groups, ...virtual];
    return anthropic === undefined ? { object: 'list', data } : anthropicModelList(data, page);
  }

  /** A model the key may not use is unknown to it: the same 404 as a model that does not exist, as OpenAI answers. */
  @Get(':id')
  get(@Req() request: FastifyRequest, @Param('id') id: string, @Headers('anthropic-version') anthropic?: string) {
    const key = request.gatewayKey;
    // Before resolving: why a model cannot serve (its providers disabled) is for keys that may use it.
    if (key && !mayUseModel(key, id, this.catalog.find(id)?.name ?? id)) throw GatewayError.modelNotFound(id);
    const group = this.router.isVirtualModel(id) ? undefined : this.catalog.resolve(id);
    const model = this.toModel(id, group ? group.deployments[0].provider.name : 'ai-gateway');
    return anthropic === undefined ? model : anthropicModel(model);
  }

  private toModel(id: string, ownedBy: string): ModelObject {
    return { id, object: 'model', created: this.created, owned_by: ownedBy };
  }
}
