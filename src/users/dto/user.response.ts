import { z } from 'zod';
import { pageSchema } from '../../common/validation/page';
import type { UserRecord } from '../user.record';

export const UserResponseSchema = z
  .object({
    id: z.uuid(),
    email: z.email(),
    fullName: z.string().nullable(),
    isActive: z.boolean(),
    isSuperuser: z.boolean(),
    roles: z.array(z.string()),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });

export type UserResponse = z.infer<typeof UserResponseSchema>;

export const UserPageSchema = pageSchema(UserResponseSchema, 'UserPage');

/** The contract's User shape: exactly these fields, never the password hash. */
export function toUserResponse(user: UserRecord): UserResponse {
  return {
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    isActive: user.isActive,
    isSuperuser: user.isSuperuser,
    roles: user.roles,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
