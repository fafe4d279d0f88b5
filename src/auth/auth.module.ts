import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../audit/audit.module';
import { HealthModule } from '../health/health.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { UsersModule } from '../users/users.module';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { PasswordResetModule } from './password-reset/password-reset.module';
import { PasswordsModule } from './passwords/passwords.module';
import { AuthStateCache } from './principal/auth-state.cache';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsModule } from './sessions/sessions.module';
import { JwtStrategy } from './strategies/jwt.strategy';
import { AccessTokens } from './tokens/access-tokens.service';
import { JwksController } from './tokens/jwks.controller';
import { JwtKeys } from './tokens/jwt-keys';

@Module({
  imports: [
    // Keys are passed per call as KeyObjects (see AccessTokens), never as strings.
    JwtModule.register({}),
    UsersModule,
    PasswordsModule,
    SessionsModule,
    HealthModule,
    AuditModule,
    PasswordResetModule,
    ThrottlingModule,
  ],
  controllers: [AuthController, SessionsController, JwksController, ApiKeysController],
  providers: [
    AuthService,
    AccessTokens,
    JwtKeys,
    JwtStrategy,
    AuthStateCache,
    ApiKeysService,
    ApiKeysRepository,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
