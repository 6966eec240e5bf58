import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  Param,
  Patch,
  Post,
  Req,
  Res,
  UseGuards,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayConfig, servedModelNames } from '@gateway/config';
import { utcDay } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import type { KeyRecord } from '../key-record';
import { KeyStore, type MadeLater } from '../key-store.service';
import { limitKeys } from '../limit-keys';
import { LimitsService } from '../limits.service';
import { adminActor, AdminGuard } from './admin.guard';
import { AdminBodyShapePipe } from './body-shape.pipe';
import { applyChange, checkModels, checkRecord, diff, invalid, type LimitDefaults, sentFields } from './key-changes';
import { KeyFieldsDto, MAX_GRACE_SECONDS, RotationDto } from './key.dto';
import { OptionalBody } from './optional-body';

/**
 * Checks of what kind a value is. A value of the wrong kind (or none) fails its range and length
 * checks too, whose messages would then name the wrong problem: these are reported first.
 */
const KIND_CHECKS = ['isString', 'isInt', 'isNumber', 'isArray', 'isObject', 'nestedValidation'];

/** What is wrong with the value of one field: missing, of the wrong kind, else its first failed check. */
function problemOf(error: ValidationError | undefined): string {
  if (!error?.constraints) return 'is invalid';
  if (error.value === undefined) return `${error.property} is required`;
  const kind = KIND_CHECKS.find((check) => check in error.constraints!);
  return error.constraints[kind ?? Object.keys(error.constraints)[0]];
}

/** Validation failures become OpenAI-shaped 400s naming the field. */
const validation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => {
    let error = errors[0];
    let param = error?.property ?? '';
    while (error?.children?.length) {
      error = error.children[0];
      param += `.${error.property}`;
    }
    return GatewayError.badRequest(`Invalid value for '${param}': ${problemOf(error)}.`, param || null, 'invalid_value');
  },
});

/**
 * Key management, behind the master key or an admin key: create, list, read, update, revoke, usage.
 * Every change is one `admin change` log line: who, which key, what changed (values
 * only: records hold no secret, and the new key itself is never logged). One answered unsettled (503
 * `*_unsettled`) gets it if it is found made after all, marked so (`madeAfterAll`).
 */
@Controller('admin/keys')
@UseGuards(AdminGuard)
// The shape first: what the validation pipe walks is then bounded (body-shape.pipe.ts).
@UsePipes(AdminBodyShapePipe, validation)
export class AdminController {
  private readonly audit = new Logger('Audit');
  /** What a key's `models` may name. */
  private readonly served: string[];
  /** The limits a key that sets none is held to (security.defaultRpm / defaultTpm). */
  private readonly defaults: LimitDefaults;

  constructor(
    config: GatewayConfig,
    private readonly keys: KeyStore,
    private readonly limits: LimitsService,
  ) {
    this.served = servedModelNames(config);
    this.defaults = { rpm: config.security.defaultRpm, tpm: config.security.defaultTpm };
  }

  /** The new key is in the answer once; only its hash is stored. */
  @Post()
  @HttpCode(201)
  async create(
    @Body() body: KeyFieldsDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyRecord & { key: string }> {
    const change = sentFields(body, request.body);
    checkModels(change, this.served);
    const fields = applyChange({} as KeyRecord, change);
    checkRecord(fields, change, this.defaults);
    const { key, record, unreplicated } = await this.keys.create(fields);
    this.record(request, 'create', record.id, diff(undefined, record));
    announced(reply, 0, unreplicated);
    return { ...record, key };
  }

  /**
   * Without Redis, the config keys (read-only, as each read answers them), and a header saying keys created
   * through the admin API are not among them: they live in Redis.
   */
  @Get()
  async list(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ object: 'list'; data: KeyRecord[] }> {
    const { keys, configOnly } = await this.keys.list();
    if (configOnly) reply.header('x-gateway-keys-listed', 'config-only');
    return { object: 'list', data: keys };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<KeyRecord> {
    return (await this.keys.get(id)) ?? notFound(id);
  }

  /** Only the fields sent change; `null` clears one. A revoked key is not changed (409). */
  @Patch(':id')
  async update(
    @Param('id') id: string,
    @Body() body: KeyFieldsDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyRecord> {
    const change = sentFields(body, request.body);
    checkModels(change, this.served);
    const { before, after, unconfirmed, unreplicated } = await this.keys.update(
      id,
      (record) => {
        if (record.revoked) throw revoked(id);
        const next = applyChange(record, change);
        checkRecord(next, change, this.defaults);
        return next;
      },
      this.madeLater(request, 'update', id),
    );
    this.record(request, 'update', id, diff(before, after));
    announced(reply, unconfirmed, unreplicated);
    // Spend of a key without a budget is written a lease period late: every replica writes it now,
    // so the budget counts it everywhere from the answer on (not only on the replica that served it).
    if (change.budget) await this.limits.flushEverywhere(id);
    return after;
  }

  /**
   * A new secret for the key, shown once; the id, record, spend, limit windows and stored responses
   * stay. The old secret stops on every replica at once, as a revoked key does; on `rotate-with-grace`
   * it works on as the key for `gracePeriodSeconds` (until `previousSecretUntil`). That path is one of its
   * own: a replica of an earlier release answers it 404 (unknown route), where it ignored a grace sent to
   * `rotate` and rotated without one, cutting off every client of the key at once; `rotate` refuses a grace
   * here so. A revoked key is not rotated (409), nor one another rotation is under way for (409, KeyStore.rotate).
   */
  @Post([':id/rotate', ':id/rotate-with-grace'])
  @OptionalBody()
  @HttpCode(200)
  async rotate(
    @Param('id') id: string,
    @Body() body: RotationDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyRecord & { key: string }> {
    const grace = body.gracePeriodSeconds ?? 0;
    if (request.routeOptions.url?.endsWith('/rotate-with-grace')) {
      if (!grace) throw invalid('gracePeriodSeconds', `must be from 1 to ${MAX_GRACE_SECONDS} (seconds)`);
    } else if (grace) {
      throw invalid(
        'gracePeriodSeconds',
        `a grace period is asked for with POST /admin/keys/${id}/rotate-with-grace (a replica of an earlier release ignored it here and rotated without one)`,
      );
    }
    const { key, before, after, unconfirmed, unreplicated } = await this.keys.rotate(
      id,
      (record) => {
        if (record.revoked) throw revoked(id);
      },
      grace * 1000,
      this.madeLater(request, 'rotate', id),
    );
    this.record(request, 'rotate', id, diff(before, after));
    announced(reply, unconfirmed, unreplicated);
    return { ...after, key };
  }

  /** Revocation reaches every replica at once (the key cache is dropped through Redis). */
  @Delete(':id')
  async revoke(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyRecord> {
    const { before, after, unconfirmed, unreplicated } = await this.keys.revoke(id, this.madeLater(request, 'revoke', id));
    this.record(request, 'revoke', id, diff(before, after));
    announced(reply, unconfirmed, unreplicated);
    return after;
  }

  @Get(':id/usage')
  async usage(@Param('id') id: string) {
    const key = (await this.keys.get(id)) ?? notFound(id);
    const day = utcDay();
    const counters = limitKeys(id);
    const [today, month, rpm, tpm] = await Promise.all([
      this.limits.spendByModel(id, day),
      this.limits.spendByModel(id, day.slice(0, 7)),
      this.limits.counter.peek(counters.rpm),
      this.limits.counter.peek(counters.tpm),
    ]);
    // The limits the key is held to: its own, else security.defaultRpm / defaultTpm.
    const limits = this.limits.limitsOf(key);
    return {
      id,
      spendUsd: { day, today, month: { period: day.slice(0, 7), ...month } },
      budget: key.budget ?? null,
      currentMinute: { requests: rpm, tokens: tpm, rpmLimit: limits.rpm ?? null, tpmLimit: limits.tpm ?? null },
    };
  }

  private record(request: FastifyRequest, action: Action, keyId: string, changes: Record<string, unknown>, madeAfterAll = false): void {
    const line = { msg: 'admin change', actor: adminActor(request) ?? 'unknown', action, keyId, changes };
    this.audit.log(madeAfterAll ? { ...line, madeAfterAll } : line);
  }

  /** The audit line of a change answered unsettled, written if it is found made after all (its answer wrote none). */
  private madeLater(request: FastifyRequest, action: Action, keyId: string): MadeLater {
    return ({ before, after }) => this.record(request, action, keyId, diff(before, after), true);
  }
}

/** What an `admin change` line names the change. */
type Action = 'create' | 'update' | 'revoke' | 'rotate';

/**
 * The change is made either way; a Redis Cluster node that did not confirm its announcement (paused,
 * unreachable) is named by count, so the operator knows replicas subscribed there may not have it yet,
 * and so is a node where no Redis replica acknowledged the write in time (a failover could lose it).
 */
function announced(reply: FastifyReply, unconfirmed: number, unreplicated: number): void {
  if (unconfirmed) reply.header('x-gateway-unconfirmed-nodes', String(unconfirmed));
  // Made, but no replica acknowledged it in time on so many nodes: a failover now could lose it.
  if (unreplicated) reply.header('x-gateway-unreplicated-nodes', String(unreplicated));
}

/** Revocation is final: a PATCH that would edit a revoked key's record (limits no request uses) is refused instead. */
function revoked(id: string): GatewayError {
  return new GatewayError(409, `Key ${id} is revoked; a revoked key cannot be changed.`, 'invalid_request_error', 'key_revoked', 'id');
}

function notFound(id: string): never {
  throw new GatewayError(404, `No key with id ${id}.`, 'not_found_error', 'key_not_found', 'id');
}
