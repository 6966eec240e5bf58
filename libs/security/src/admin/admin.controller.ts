import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import { SpendService, utcDay } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import type { KeyRecord } from '../key-record';
import { KeyStore } from '../key-store.service';
import { LimitsService } from '../limits.service';
import { AdminGuard } from './admin.guard';
import { CreateKeyDto, UpdateKeyDto } from './key.dto';

/** Validation failures become OpenAI-shaped 400s naming the field. */
const validation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => {
    const first = errors[0];
    const problem = Object.values(first?.constraints ?? { invalid: 'is invalid' })[0];
    return GatewayError.badRequest(`Invalid value for '${first?.property}': ${problem}.`, first?.property ?? null, 'invalid_value');
  },
});

/** Key management, behind the master key: create, list, read, update limits, revoke, usage. */
@Controller('admin/keys')
@UseGuards(AdminGuard)
@UsePipes(validation)
export class AdminController {
  constructor(
    private readonly keys: KeyStore,
    private readonly spend: SpendService,
    private readonly limits: LimitsService,
  ) {}

  /** The new key is in the answer once; only its hash is stored. */
  @Post()
  @HttpCode(201)
  async create(@Body() body: CreateKeyDto): Promise<KeyRecord & { key: string }> {
    const { key, record } = await this.keys.create({ ...body });
    return { ...record, key };
  }

  @Get()
  async list(): Promise<{ object: 'list'; data: KeyRecord[] }> {
    return { object: 'list', data: await this.keys.list() };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<KeyRecord> {
    return (await this.keys.get(id)) ?? notFound(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: UpdateKeyDto): Promise<KeyRecord> {
    return this.keys.update(id, { ...body });
  }

  /** Revocation reaches every replica at once (the key cache is dropped through Redis). */
  @Delete(':id')
  revoke(@Param('id') id: string): Promise<KeyRecord> {
    return this.keys.update(id, { revoked: true });
  }

  @Get(':id/usage')
  async usage(@Param('id') id: string) {
    const key = (await this.keys.get(id)) ?? notFound(id);
    const day = utcDay();
    const [today, month, rpm, tpm] = await Promise.all([
      this.spend.byModel(id, day),
      this.spend.byModel(id, day.slice(0, 7)),
      this.limits.counter.peek(`gateway:rpm:${id}`),
      this.limits.counter.peek(`gateway:tpm:${id}`),
    ]);
    return {
      id,
      spendUsd: { day, today, month: { period: day.slice(0, 7), ...month } },
      budget: key.budget ?? null,
      currentMinute: { requests: rpm, tokens: tpm, rpmLimit: key.rpm ?? null, tpmLimit: key.tpm ?? null },
    };
  }
}

function notFound(id: string): never {
  throw new GatewayError(404, `No key with id ${id}.`, 'not_found_error', 'key_not_found', 'id');
}
