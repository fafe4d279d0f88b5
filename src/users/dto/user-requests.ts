import { z } from 'zod';
import {
  emailField,
  fullNameField,
  limitField,
  offsetField,
  newPasswordField,
  passwordField,
  rolesField,
} from '../../common/validation/fields';

export const UpdateProfileSchema = z
  .strictObject({ fullName: fullNameField.optional(), email: emailField.optional() })
  .meta({ id: 'UpdateProfileRequest' });
export type UpdateProfileRequest = z.infer<typeof UpdateProfileSchema>;

export const ChangePasswordSchema = z
  .strictObject({ currentPassword: passwordField, newPassword: newPasswordField })
  .meta({ id: 'ChangePasswordRequest' });
export type ChangePasswordRequest = z.infer<typeof ChangePasswordSchema>;

export const CreateUserSchema = z
  .strictObject({
    email: emailField,
    password: newPasswordField,
    fullName: fullNameField.optional(),
    isSuperuser: z.boolean().optional(),
    isActive: z.boolean().optional(),
    roles: rolesField.optional(),
  })
  .meta({ id: 'CreateUserRequest' });
export type CreateUserRequest = z.infer<typeof CreateUserSchema>;

export const UpdateUserSchema = CreateUserSchema.partial().meta({ id: 'UpdateUserRequest' });
export type UpdateUserRequest = z.infer<typeof UpdateUserSchema>;

export const ListUsersQuerySchema = z
  .strictObject({
    offset: offsetField,
    limit: limitField,
    search: z.string().trim().max(254).optional(),
  })
  .meta({ id: 'ListUsersQuery' });
export type ListUsersQuery = z.infer<typeof ListUsersQuerySchema>;
