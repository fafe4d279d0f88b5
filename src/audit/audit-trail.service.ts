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

  /**
   * A user's own events. Those an administrator caused carry the administrator's session, address
   * and user agent: the user sees that an administrator acted, not those.
   */
  async forUser(userId: string, limit: number): Promise<AuditEventRecord[]> {
    await this.log.flush();
    const { data } = await this.events.list({ userId }, { offset: 0, limit });
    return data.map((event) => {
      const { actorId, ...detail } = (event.detail ?? {}) as Record<string, unknown>;
      if (actorId === undefined || actorId === userId) return event;
      return {
        ...event,
        sessionId: null,
        ip: null,
        userAgent: null,
        detail: { ...detail, byAdministrator: true },
      };
    });
  }
}
