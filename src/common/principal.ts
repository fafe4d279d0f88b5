import type { UserRecord } from '../users/user.record';

/**
 * Who is calling, as the authentication guard established it: the user's current record (not
 * what their token claimed), and the session the token belongs to, or the API key used.
 */
export interface Principal {
  user: UserRecord;
  /** The access token's session; undefined when the caller used an API key. */
  sessionId: string | undefined;
  /** The API key the request was made with, if it was. */
  apiKeyId?: string;
  /** The token's roles that the user still holds: never more than either. */
  roles: string[];
  isSuperuser: boolean;
}
