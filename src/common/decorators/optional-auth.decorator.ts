import { SetMetadata } from '@nestjs/common';

export const AUTH_OPTIONAL = 'auth:optional';

/**
 * A route that works with or without a bearer token: without an Authorization header it runs with
 * no user; with one, the token must be valid.
 */
export const OptionalAuth = () => SetMetadata(AUTH_OPTIONAL, true);
