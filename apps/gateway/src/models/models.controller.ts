import { Controller, Get, Param } from '@nestjs/common';
import { ModelCatalog, RouterService } from '@gateway/router';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * GET /v1/models: what clients can ask for now: models with an enabled provider,
 * and virtual models (task routers), which are owned by the gateway.
 */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly router: RouterService,
  ) {}

  @Get()
  list(): { object: 'list'; data: ModelObject[] } {
    const groups = this.catalog.available().map((g) => this.toModel(g.name, g.deployments[0].provider.name));
    const virtual = this.router.virtualModelNames().map((name) => this.toModel(name, 'ai-gateway'));
    return { object: 'list', data: [...groups, ...virtual] };
  }

  @Get(':id')
  get(@Param('id') id: string): ModelObject {
    if (this.router.virtualModelNames().includes(id)) return this.toModel(id, 'ai-gateway');
    return this.toModel(id, this.catalog.resolve(id).deployments[0].provider.name);
  }

  private toModel(id: string, ownedBy: string): ModelObject {
    return { id, object: 'model', created: this.created, owned_by: ownedBy };
  }
}
