import type { UserRecord } from '../users/user.record';

/**
 * Who is calling, as the authentication guard established it: the user's current record (not
 * what their token claimed), and the session the token belongs to.
 */
export interface Principal {
  user: UserRecord;
  sessionId: string;
  /** The token's roles that the user still holds: never more than either. */
  roles: string[];
  isSuperuser: boolean;
}
