import type { FastifyRequest } from 'fastify';
import type { ErrorCode } from './error-codes';

/**
 * Requests whose API key the guard did not read: a route that takes no keys but serves anonymous
 * callers (logout, which a refresh token in the body identifies) treats a key's bearer as
 * anonymous. Their 401, if any, refused no key.
 */
export const unreadApiKeys = new WeakSet<object>();

/**
 * The WWW-Authenticate challenge every 401 carries (RFC 9110 §11.6.1): Bearer, the scheme of
 * the routes that need a caller, with RFC 6750's `invalid_token` error only where the request
 * presented a bearer token or an API key and it was refused. Without credentials, or with
 * another scheme, there is no error code (RFC 6750 §3.1); nor for a failed login or refresh,
 * where no access token was involved.
 */
export function challengeFor(code: ErrorCode, request: FastifyRequest): string {
  const { authorization, 'x-api-key': apiKey } = request.headers;
  // A key counts only where the guard reads it: without an Authorization header, on a route that
  // reads keys.
  const presented =
    authorization === undefined
      ? apiKey !== undefined && !unreadApiKeys.has(request)
      : /^bearer\s/i.test(authorization);
  return code === 'invalid_token' && presented ? 'Bearer error="invalid_token"' : 'Bearer';
}
