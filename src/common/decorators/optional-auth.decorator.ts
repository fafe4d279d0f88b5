import { SetMetadata } from '@nestjs/common';

export const AUTH_OPTIONAL = 'auth:optional';

/**
 * A route that works with or without a bearer token: without a usable one (none, expired,
 * revoked, malformed) it runs with no user, and answers 401 itself if it needs one.
 */
export const OptionalAuth = () => SetMetadata(AUTH_OPTIONAL, true);
