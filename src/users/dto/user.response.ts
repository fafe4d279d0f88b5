import { z } from 'zod';
import { pageSchema } from '../../common/validation/page';
import type { UserRecord } from '../user.record';

export const UserResponseSchema = z
  .object({
    id: z.uuid(),
    // Documented as an email, without a pattern a client's validator might read differently.
    email: z.string().meta({ format: 'email' }),
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

/**
 * Records are not changed in place (an update reads a new one), so each is mapped once: the hot
 * GET /users/me answers from the authentication cache's record.
 */
const responses = new WeakMap<UserRecord, UserResponse>();

/** The contract's User shape: exactly these fields, never the password hash. */
export function toUserResponse(user: UserRecord): UserResponse {
  let response = responses.get(user);
  if (!response) responses.set(user, (response = mapUser(user)));
  return response;
}

function mapUser(user: UserRecord): UserResponse {
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
