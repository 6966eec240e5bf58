/** What the models controller knows of a model. */
type ModelObject = { id: string; created: number };

/** A model as Anthropic's Models API describes one. */
export function anthropicModel(model: ModelObject) {
  return { type: 'model', id: model.id, display_name: model.id, created_at: new Date(model.created * 1000).toISOString() };
}

/** Anthropic's list page: the whole list in one page. */
export function anthropicModelList(models: ModelObject[]) {
  return {
    data: models.map(anthropicModel),
    has_more: false,
    first_id: models[0]?.id ?? null,
    last_id: models.at(-1)?.id ?? null,
  };
}
