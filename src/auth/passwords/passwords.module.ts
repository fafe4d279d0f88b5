import { Module } from '@nestjs/common';
import { PasswordHasher } from './password-hasher';

/**
 * Password hashing, on its own so that UsersModule (creating users) and AuthModule (logging
 * them in) can both use it without UsersModule depending on AuthModule.
 */
@Module({
  providers: [PasswordHasher],
  exports: [PasswordHasher],
})
export class PasswordsModule {}
