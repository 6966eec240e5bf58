import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import { invalid, KEY_FIELDS, METADATA_ENTRIES } from './key-changes';
import { MAX_MODELS, ROTATION_FIELDS, RotationDto } from './key.dto';

const BUDGET_FIELDS = ['usd', 'period'];
/** The fields each admin body may hold, by its DTO: a key's fields, else a rotation's. */
const FIELDS = new Map<unknown, readonly string[]>([[RotationDto, ROTATION_FIELDS]]);

/**
 * The shape of an admin body, checked on the parsed JSON before the validation pipe: an object of
 * known fields (a key's, or a rotation's), `budget` an object of `usd` and `period`, `metadata` at most 50 entries, `models` at
 * most 1,000. Each check counts keys once, so what class-transformer and class-validator walk after
 * it is small (their walk over 200,000 unknown keys took 200 s and blocked the event loop). Keys are
 * read as own properties, before the validation pipe deletes `constructor` and `prototype` keys and
 * class-transformer skips other names of Object.prototype's members (`toString`): an unknown field
 * so named got through, and a metadata entry so named was dropped.
 */
@Injectable()
export class AdminBodyShapePipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body') return value;
    const fields = FIELDS.get(metadata.metatype) ?? KEY_FIELDS;
    // A rotation sent without a body (OptionalBody): no field set.
    if (value === undefined && metadata.metatype === RotationDto) return {};
    const body = plainObject(value);
    if (!body)
      throw GatewayError.badRequest(
        `The body must be a JSON object of ${fields === KEY_FIELDS ? 'key fields' : fields.join(', ')}.`,
        null,
        'invalid_value',
      );
    const unknown = Object.keys(body).find((field) => !fields.includes(field));
    if (unknown) throw invalid(unknown, `property ${unknown} should not exist`);
    const { budget, metadata: entries, models } = body;
    if (budget !== undefined && budget !== null) {
      const fields = plainObject(budget);
      if (!fields) throw invalid('budget', `must be an object such as {"usd": 10, "period": "monthly"} (got ${kindOf(budget)})`);
      const extra = Object.keys(fields).find((field) => !BUDGET_FIELDS.includes(field));
      if (extra) throw invalid(`budget.${extra}`, `property ${extra} should not exist`);
    }
    if (entries !== undefined && entries !== null) {
      const map = plainObject(entries);
      if (!map) throw invalid('metadata', `must be an object of string values (got ${kindOf(entries)})`);
      if (Object.keys(map).length > METADATA_ENTRIES) throw invalid('metadata', `at most ${METADATA_ENTRIES} entries`);
    }
    if (Array.isArray(models) && models.length > MAX_MODELS) throw invalid('models', `must contain no more than ${MAX_MODELS} elements`);
    // A copy for the validation pipe, which deletes keys named `constructor` and `prototype` from what it
    // is given, metadata entries included: the request's body stays as sent (sentFields reads metadata there).
    return structuredClone(body);
  }
}

function plainObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function kindOf(value: unknown): string {
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
