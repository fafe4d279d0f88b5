import { z } from 'zod';
import type { SessionRecord } from '../sessions/sessions.repository';

export const TokenPairSchema = z
  .object({
    accessToken: z.string().meta({ description: 'JWT; send as Authorization: Bearer <token>' }),
    refreshToken: z.string().meta({ description: 'Opaque, single-use; exchange at /auth/refresh' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().meta({ description: 'Seconds the access token is valid' }),
    refreshExpiresIn: z
      .number()
      .int()
      .meta({ description: 'Seconds until the session ends; rotation never extends it' }),
  })
  .meta({ id: 'TokenPair' });
export type TokenPair = z.infer<typeof TokenPairSchema>;

export const SessionSchema = z
  .object({
    id: z.uuid(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().meta({ description: 'The login or the last refresh' }),
    expiresAt: z.iso.datetime(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean().meta({ description: 'The session of the token making this request' }),
  })
  .meta({ id: 'Session' });
export type SessionResponse = z.infer<typeof SessionSchema>;

export function toSessionResponse(
  session: SessionRecord,
  currentSessionId: string | undefined,
): SessionResponse {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
    current: session.id === currentSessionId,
  };
}
