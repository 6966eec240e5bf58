import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '@gateway/providers';
import type { Plan } from '@gateway/router';
import { LimitsService, type Reservation } from './limits.service';

/** Tokens reserved for the completion when the request sets no max_tokens. */
const DEFAULT_COMPLETION_RESERVE = 256;

/**
 * Checks a planned request against its key before any upstream call: the model is
 * allowed (403 otherwise), the budget is not spent, and the estimated tokens fit
 * in the TPM window (reserved now, reconciled with actual usage after).
 */
@Injectable()
export class AdmissionService {
  constructor(private readonly limits: LimitsService) {}

  async admit(request: FastifyRequest, reply: FastifyReply, requestedModel: string, plan: Plan): Promise<Reservation | undefined> {
    const key = request.gatewayKey;
    if (!key) return undefined;
    if (key.models && !key.models.includes(requestedModel) && !key.models.includes(plan.group.name)) {
      throw new GatewayError(
        403,
        `This API key may not use the model \`${requestedModel}\`.`,
        'permission_error',
        'model_not_allowed',
        'model',
      );
    }
    await this.limits.checkBudget(key);
    const estimate = plan.profile.promptTokens + (plan.profile.maxTokens ?? DEFAULT_COMPLETION_RESERVE);
    const reserved = await this.limits.reserveTokens(key, estimate);
    if (!reserved) return undefined;
    const { reservation, result, limit } = reserved;
    reply.header('x-ratelimit-limit-tokens', String(limit));
    reply.header('x-ratelimit-remaining-tokens', String(Math.max(0, limit - result.used)));
    reply.header('x-ratelimit-reset-tokens', `${Math.ceil(result.resetMs / 1000)}s`);
    return reservation;
  }

  /** Settles a reservation with the tokens the request really used. */
  settle(reservation: Reservation, usedTokens: number): void {
    this.limits.reconcile(reservation, usedTokens);
  }
}
