import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';

/** What an API key may be allowed to do. */
export const API_KEY_SCOPES = ['users:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const SCOPES = 'auth:api-key-scopes';

/** The OpenAPI security scheme of X-API-Key (registered in openapi.ts). */
export const API_KEY_SECURITY = 'api-key';

/**
 * The route also accepts an API key (X-API-Key) holding all these scopes. Routes without it never
 * accept API keys: a key can do nothing it was not explicitly allowed to.
 */
export const Scopes = (...scopes: ApiKeyScope[]) =>
  applyDecorators(SetMetadata(SCOPES, scopes), ApiSecurity(API_KEY_SECURITY));
