import { z } from 'zod';
import { emailField, newPasswordField } from '../../common/validation/fields';

export const PasswordResetRequestSchema = z
  .strictObject({ email: emailField })
  .meta({ id: 'PasswordResetRequest' });
export type PasswordResetRequest = z.infer<typeof PasswordResetRequestSchema>;

export const PasswordResetConfirmSchema = z
  .strictObject({
    token: z
      .string()
      .min(1)
      .max(1024)
      .meta({ example: 'q9Xv0dGk3oF8N2sL5wRj7yTq1cVb4mZe6hUa0pKx3Ds' }),
    newPassword: newPasswordField,
  })
  .meta({ id: 'PasswordResetConfirm' });
export type PasswordResetConfirm = z.infer<typeof PasswordResetConfirmSchema>;
