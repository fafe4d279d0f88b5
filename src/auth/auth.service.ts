import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/errors/api-exception';
import type { Principal } from '../common/principal';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../health/metrics.service';
import type { UserRecord } from '../users/user.record';
import { UsersService } from '../users/users.service';
import type { TokenPair } from './dto/auth-responses';
import { SessionsService, type ClientInfo } from './sessions/sessions.service';
import { AccessTokens } from './tokens/access-tokens.service';

/** Sign-up, login, refresh and logout: the token side of the service. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly accessTokens: AccessTokens,
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  signup(input: {
    email: string;
    password: string;
    fullName?: string | null;
  }): Promise<UserRecord> {
    if (!this.config.signupEnabled) throw new ApiException('signup_disabled');
    return this.users.register(input);
  }

  /**
   * One generic failure for an unknown email and a wrong password (same body, same cost); a
   * disabled account is only revealed to someone who knows its password.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<TokenPair> {
    const user = await this.users.authenticate(email, password);
    if (!user) {
      this.metrics.login('invalid_credentials');
      throw new ApiException('invalid_credentials');
    }
    if (!user.isActive) {
      this.metrics.login('account_disabled');
      throw new ApiException('account_disabled');
    }
    const { session, refreshToken } = await this.sessions.start(user.id, client);
    this.metrics.login('succeeded');
    return this.tokenPair(user.id, session.id, user.roles, refreshToken, session.expiresAt);
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const rotation = await this.sessions.rotate(refreshToken);
    this.metrics.refresh(rotation.outcome);
    if (rotation.outcome === 'reused') {
      throw new ApiException('refresh_token_reused', {
        detail: 'This refresh token was already used; the session has been revoked',
      });
    }
    if (rotation.outcome === 'invalid') throw new ApiException('invalid_refresh_token');
    const { session } = rotation;
    return this.tokenPair(
      session.userId,
      session.id,
      session.user.roles,
      rotation.refreshToken,
      session.expiresAt,
    );
  }

  /** Ends the caller's session: the bearer token's, or the one a refresh token belongs to. */
  async logout(principal: Principal | undefined, refreshToken: string | undefined): Promise<void> {
    if (principal) {
      await this.sessions.revoke(principal.sessionId, 'logout');
      return;
    }
    if (refreshToken === undefined) {
      throw new ApiException('invalid_token', {
        detail: 'Send a bearer access token, or a refresh token in the body',
      });
    }
    const session = await this.sessions.sessionOfToken(refreshToken);
    if (!session) throw new ApiException('invalid_refresh_token');
    await this.sessions.revoke(session.id, 'logout');
  }

  async logoutAll(principal: Principal): Promise<void> {
    await this.sessions.revokeAllForUser(principal.user.id, 'logout_all');
  }

  private tokenPair(
    userId: string,
    sessionId: string,
    roles: string[],
    refreshToken: string,
    sessionExpiresAt: Date,
  ): TokenPair {
    return {
      accessToken: this.accessTokens.sign(userId, { sid: sessionId, roles }),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.accessTokens.ttlSeconds,
      refreshExpiresIn: Math.max(0, Math.floor((sessionExpiresAt.getTime() - Date.now()) / 1000)),
    };
  }
}
