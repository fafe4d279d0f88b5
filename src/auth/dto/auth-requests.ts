import { z } from 'zod';
import {
  emailField,
  fullNameField,
  newPasswordField,
  opaqueCredentials,
  passwordField,
} from '../../common/validation/fields';

export const SignupSchema = z
  .strictObject({
    email: emailField,
    password: newPasswordField,
    fullName: fullNameField.optional(),
  })
  .meta({ id: 'SignupRequest' });
export type SignupRequest = z.infer<typeof SignupSchema>;

export const LoginSchema = z
  .strictObject({ email: emailField, password: passwordField.min(1) })
  .meta({ id: 'LoginRequest' });
export type LoginRequest = z.infer<typeof LoginSchema>;

/** Missing or empty is 400; anything else that is no live token, 401 invalid_refresh_token. */
const refreshTokenField = z
  .string()
  .min(1)
  .meta({ example: 'rt_Xq3Jz0nM9zqJm8jv2VdN1P0c8sCw0tq5u3mQkqf4bZs' })
  // Last: .meta() returns a new schema, which the registry would not know.
  .register(opaqueCredentials);

export const RefreshSchema = z
  .strictObject({ refreshToken: refreshTokenField })
  .meta({ id: 'RefreshRequest' });
export type RefreshRequest = z.infer<typeof RefreshSchema>;

/**
 * Logout takes either a bearer token (no body, or `{}` like the other body-less endpoints) or a
 * refresh token in the body.
 */
export const LogoutSchema = z
  .strictObject({ refreshToken: refreshTokenField.optional() })
  .optional()
  .meta({ id: 'LogoutRequest' });
export type LogoutRequest = z.infer<typeof LogoutSchema>;
