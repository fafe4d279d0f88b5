/**
 * The catalogue of problem codes (contract, "Conventions"): the stable `code` a client switches
 * on, with its default status and title. Every error response is built from here.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'Request validation failed' },
  weak_password: { status: 400, title: 'Password does not meet the policy' },
  invalid_current_password: { status: 400, title: 'Current password is incorrect' },
  invalid_credentials: { status: 401, title: 'Invalid email or password' },
  invalid_token: { status: 401, title: 'Invalid or missing token' },
  invalid_refresh_token: { status: 401, title: 'Invalid refresh token' },
  refresh_token_reused: { status: 401, title: 'Refresh token reused' },
  account_disabled: { status: 403, title: 'Account disabled' },
  forbidden: { status: 403, title: 'Forbidden' },
  signup_disabled: { status: 403, title: 'Sign-up is disabled' },
  cannot_delete_self: { status: 403, title: 'You cannot delete your own account' },
  not_found: { status: 404, title: 'Not found' },
  request_timeout: { status: 408, title: 'Request timeout' },
  email_taken: { status: 409, title: 'Email already registered' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  too_many_attempts: { status: 429, title: 'Too many attempts' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The detail of a 400 for a URL whose percent-encoding does not decode (to UTF-8). */
export const MALFORMED_URL = 'The URL is not valid (a malformed percent-encoding)';

/**
 * The detail of a 404 for a path that names nothing: an unknown route, or an id that cannot be
 * one. (An id that could be one but is unknown says what it looked for: "No such session".)
 */
export const NO_SUCH_RESOURCE = 'No such resource';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 `type`: a URN per code; clients switch on `code`, which carries the same name. */
export function problemType(code: ErrorCode): string {
  return `urn:auth-service:problem:${code}`;
}
