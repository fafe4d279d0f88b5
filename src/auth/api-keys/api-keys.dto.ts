import { z } from 'zod';
import { API_KEY_SCOPES } from '../../common/decorators/scopes.decorator';
import { distinctList, timestampField } from '../../common/validation/fields';
import type { ApiKeyRecord } from './api-keys.repository';
import { apiKeyCodec } from './api-key-codec';

/** The longest an API key may live, when it has an expiry at all. */
const MAX_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;

export const CreateApiKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).meta({ example: 'CI deploy job' }),
    scopes: distinctList(
      z.array(z.enum(API_KEY_SCOPES)).default([]),
      API_KEY_SCOPES.length,
      'scopes',
      'What the key may do; none means nothing',
    ),
    expiresAt: timestampField
      .refine((date) => date.getTime() > Date.now(), { error: 'must be in the future' })
      .refine((date) => date.getTime() < Date.now() + MAX_LIFETIME_MS, {
        error: 'must be within 10 years',
      })
      .nullable()
      .optional()
      .meta({ description: 'When the key stops working; never when absent or null' }),
  })
  .meta({ id: 'CreateApiKeyRequest' });
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeySchema>;

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The key’s public part, `ak_<id>`' }),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().meta({ description: 'Updated at most once a minute' }),
    expiresAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyResponse = z.infer<typeof ApiKeySchema>;

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().meta({
    description: 'The key itself, `ak_<id>_<secret>`: shown this once only, never again',
    example: 'ak_0194f3c2a1b27c3e9d4f5a6b7c8d9e0f_Zq3Jz0nM9zqJm8jv2VdN1P0c8sCw0tq5u3mQkqf4bZs',
  }),
}).meta({ id: 'CreatedApiKey' });
export type CreatedApiKeyResponse = z.infer<typeof CreatedApiKeySchema>;

export function toApiKeyResponse(key: ApiKeyRecord): ApiKeyResponse {
  return {
    id: key.id,
    name: key.name,
    prefix: apiKeyCodec.prefix(key.id),
    scopes: key.scopes as ApiKeyResponse['scopes'],
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
  };
}
