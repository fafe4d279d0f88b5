import { Module } from '@nestjs/common';
import { AuditEventsController } from './audit-events.controller';
import { AuditEventsRepository } from './audit-events.repository';
import { AuditLog } from './audit-log.service';
import { AuditTrail } from './audit-trail.service';

/**
 * The audit trail: AuditLog records security events (other modules import this module for it),
 * AuditEventsController serves them to superusers and to each user.
 */
@Module({
  controllers: [AuditEventsController],
  providers: [AuditLog, AuditTrail, AuditEventsRepository],
  exports: [AuditLog],
})
export class AuditModule {}
