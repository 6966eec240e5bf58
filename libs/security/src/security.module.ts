import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminController } from './admin/admin.controller';
import { AdminGuard } from './admin/admin.guard';
import { AdmissionService } from './admission.service';
import { AuthGuard } from './auth.guard';
import { KeyStore } from './key-store.service';
import { LimitsService } from './limits.service';

@Module({
  controllers: [AdminController],
  providers: [
    KeyStore,
    LimitsService,
    AdmissionService,
    AdminGuard,
    // Who is calling; how often and how much is checked at admission, once the route is planned.
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AdmissionService, KeyStore],
})
export class SecurityModule {}
