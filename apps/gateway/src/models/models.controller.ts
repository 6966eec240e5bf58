import { Controller, Get, Headers, Param } from '@nestjs/common';
import { ModelCatalog, RouterService } from '@gateway/router';
import { anthropicModel, anthropicModelList } from '../messages/models';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * GET /v1/models: what clients can ask for now: models with an enabled provider,
 * and virtual models (task routers) that route to one, which are owned by the gateway. Anthropic
 * SDKs (they send `anthropic-version`) get the list in Anthropic's shape.
 */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly router: RouterService,
  ) {}

  @Get()
  list(@Headers('anthropic-version') anthropic?: string) {
    const groups = this.catalog.available().map((g) => this.toModel(g.name, g.deployments[0].provider.name));
    const virtual = this.router.virtualModelNames().map((name) => this.toModel(name, 'ai-gateway'));
    const data = [...groups, ...virtual];
    return anthropic === undefined ? { object: 'list', data } : anthropicModelList(data);
  }

  @Get(':id')
  get(@Param('id') id: string, @Headers('anthropic-version') anthropic?: string) {
    const model = this.router.isVirtualModel(id)
      ? this.toModel(id, 'ai-gateway')
      : this.toModel(id, this.catalog.resolve(id).deployments[0].provider.name);
    return anthropic === undefined ? model : anthropicModel(model);
  }

  private toModel(id: string, ownedBy: string): ModelObject {
    return { id, object: 'model', created: this.created, owned_by: ownedBy };
  }
}
