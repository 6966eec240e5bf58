import { Controller, Get, Param } from '@nestjs/common';
import { type ModelGroup, ModelCatalog } from '@gateway/router';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** GET /v1/models: the public models that can serve now (configured, with an enabled provider). */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly catalog: ModelCatalog) {}

  @Get()
  list(): { object: 'list'; data: ModelObject[] } {
    return { object: 'list', data: this.catalog.available().map((g) => this.toModel(g, g.name)) };
  }

  @Get(':id')
  get(@Param('id') id: string): ModelObject {
    return this.toModel(this.catalog.resolve(id), id);
  }

  private toModel(group: ModelGroup, id: string): ModelObject {
    return { id, object: 'model', created: this.created, owned_by: group.deployments[0]?.provider.name ?? 'ai-gateway' };
  }
}
