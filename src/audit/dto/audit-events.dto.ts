import { z } from 'zod';
import {
  limitField,
  offsetField,
  queryInteger,
  timestampField,
  uuidField,
} from '../../common/validation/fields';
import { pageSchema } from '../../common/validation/page';
import { AUDIT_EVENT_TYPES, type AuditEventRecord } from '../audit-event';

export const AuditEventsQuerySchema = z
  .strictObject({
    userId: uuidField.optional(),
    type: z.enum(AUDIT_EVENT_TYPES).optional(),
    since: timestampField.optional(),
    offset: offsetField,
    limit: limitField,
  })
  .meta({ id: 'AuditEventsQuery' });
export type AuditEventsQuery = z.infer<typeof AuditEventsQuerySchema>;

export const SecurityEventsQuerySchema = z
  .strictObject({ limit: queryInteger(1, 100, 20) })
  .meta({ id: 'SecurityEventsQuery' });
export type SecurityEventsQuery = z.infer<typeof SecurityEventsQuerySchema>;

export const AuditEventResponseSchema = z
  .object({
    id: z.uuid(),
    type: z.enum(AUDIT_EVENT_TYPES),
    at: z.iso.datetime(),
    userId: z.uuid().nullable(),
    sessionId: z.uuid().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' });
export type AuditEventResponse = z.infer<typeof AuditEventResponseSchema>;

export const AuditEventPageSchema = pageSchema(AuditEventResponseSchema, 'AuditEventPage');

export function toAuditEventResponse(event: AuditEventRecord): AuditEventResponse {
  return {
    id: event.id,
    type: event.type as AuditEventResponse['type'],
    at: event.at.toISOString(),
    userId: event.userId,
    sessionId: event.sessionId,
    ip: event.ip,
    userAgent: event.userAgent,
    detail: (event.detail ?? {}) as Record<string, unknown>,
  };
}
