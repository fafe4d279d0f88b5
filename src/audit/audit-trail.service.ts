import { Injectable } from '@nestjs/common';
import type { Page } from '../common/validation/page';
import type { AuditEventRecord } from './audit-event';
import { AuditEventsRepository } from './audit-events.repository';
import { AuditLog } from './audit-log.service';
import type { AuditEventsQuery } from './dto/audit-events.dto';

/** Reading the audit trail. What this instance has queued is written first, so it is seen. */
@Injectable()
export class AuditTrail {
  constructor(
    private readonly log: AuditLog,
    private readonly events: AuditEventsRepository,
  ) {}

  async list(query: AuditEventsQuery): Promise<Page<AuditEventRecord>> {
    await this.log.flush();
    const { offset, limit, ...filter } = query;
    return this.events.list(filter, { offset, limit });
  }

  async forUser(userId: string, limit: number): Promise<AuditEventRecord[]> {
    await this.log.flush();
    return (await this.events.list({ userId }, { offset: 0, limit })).data;
  }
}
