export * from './api-auth';
export * from './admission.service';
export { adminActor, AdminGuard, installAdminAuth } from './admin/admin.guard';
export { emptyBodyIsNone } from './admin/optional-body';
export * from './key-concurrency';
export * from './key-record';
export * from './key-store.service';
export * from './limits.service';
export * from './security.module';
