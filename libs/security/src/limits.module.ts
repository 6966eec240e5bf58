import { Module } from '@nestjs/common';
import { LimitsService } from './limits.service';

/** Its own module so the throttler's storage and the guards share one LimitsService. */
@Module({ providers: [LimitsService], exports: [LimitsService] })
export class LimitsModule {}
