import type { ClientInfo } from '../common/client-info';

/** The contract's audit event types ("Users"): a closed list, which clients may switch on. */
export const AUDIT_EVENT_TYPES = [
  'signup',
  'login_succeeded',
  'login_failed',
  'logout',
  'refresh',
  'refresh_reuse_detected',
  'session_revoked',
  'password_changed',
  'password_reset_requested',
  'password_reset_completed',
  'api_key_created',
  'api_key_revoked',
  'user_created',
  'user_updated',
  'user_deleted',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What a service reports; the time and id are added when it is recorded. */
export interface AuditEventInput {
  type: AuditEventType;
  /** The user the event is about (for an administrator's change: the user changed). */
  userId?: string | null;
  sessionId?: string | null;
  client?: ClientInfo;
  /** Small, and never a password, token or key. */
  detail?: Record<string, unknown>;
}

export interface AuditEventRecord {
  id: string;
  type: string;
  at: Date;
  userId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: unknown;
}
