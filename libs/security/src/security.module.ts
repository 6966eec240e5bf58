import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AdminController } from './admin/admin.controller';
import { AdminGuard } from './admin/admin.guard';
import { AdmissionService } from './admission.service';
import { AuthGuard } from './auth.guard';
import { KeyStore } from './key-store.service';
import { LimitsModule } from './limits.module';
import { LimitsService } from './limits.service';
import { RpmGuard } from './rpm.guard';
import { WindowThrottlerStorage } from './throttler-storage';

/** The RPM window; the limit itself is per key (RpmGuard reads it from the key). */
const MINUTE = 60_000;

@Module({
  imports: [
    LimitsModule,
    ThrottlerModule.forRootAsync({
      imports: [LimitsModule],
      inject: [LimitsService],
      useFactory: (limits: LimitsService) => ({
        throttlers: [
          {
            name: 'rpm',
            ttl: MINUTE,
            limit: (context) => limits.rpmOf(context.switchToHttp().getRequest().gatewayKey) ?? Number.MAX_SAFE_INTEGER,
          },
        ],
        storage: new WindowThrottlerStorage(limits),
      }),
    }),
  ],
  controllers: [AdminController],
  providers: [
    KeyStore,
    AdmissionService,
    AdminGuard,
    // Global guards run in this order: who is calling, then how often.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RpmGuard },
  ],
  exports: [AdmissionService, KeyStore],
})
export class SecurityModule {}
