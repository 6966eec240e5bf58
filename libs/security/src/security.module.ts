import { Module } from '@nestjs/common';
import { AdminController } from './admin/admin.controller';
import { AdminGuard } from './admin/admin.guard';
import { AdmissionService } from './admission.service';
import { ApiAuth } from './api-auth';
import { KeyConcurrency } from './key-concurrency';
import { KeyStore } from './key-store.service';
import { LimitsService } from './limits.service';

@Module({
  controllers: [AdminController],
  providers: [
    KeyStore,
    LimitsService,
    AdmissionService,
    // Each key's requests in flight: a place taken as the key is known (ApiAuth), given back as the response closes.
    KeyConcurrency,
    // Who may manage keys: a hook of the admin routes (installAdminAuth), before the body is read.
    AdminGuard,
    // Who is calling: a hook of the /v1 routes (installApiAuth), before the body is read.
    // How often and how much is checked at admission, once the route is planned.
    ApiAuth,
  ],
  exports: [AdmissionService, ApiAuth, AdminGuard, KeyConcurrency, KeyStore],
})
export class SecurityModule {}
