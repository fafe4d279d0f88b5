import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.service';
import type { ClientInfo } from '../common/client-info';
import type { Actor } from '../common/decorators/actor.decorator';
import { ApiException } from '../common/errors/api-exception';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../health/metrics.service';
import type { UserRecord } from '../users/user.record';
import { LoginThrottle } from '../throttling/login-throttle.service';
import { UsersService } from '../users/users.service';
import type { TokenPair } from './dto/auth-responses';
import { SessionsService } from './sessions/sessions.service';
import { AccessTokens } from './tokens/access-tokens.service';

/** Sign-up, login, refresh and logout: the token side of the service. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly accessTokens: AccessTokens,
    private readonly metrics: Metrics,
    private readonly audit: AuditLog,
    private readonly throttle: LoginThrottle,
    private readonly config: AppConfig,
  ) {}

  async signup(
    input: { email: string; password: string; fullName?: string | null },
    client: ClientInfo,
  ): Promise<UserRecord> {
    if (!this.config.signupEnabled) throw new ApiException('signup_disabled');
    const user = await this.users.register(input);
    this.audit.record({ type: 'signup', userId: user.id, client });
    return user;
  }

  /**
   * One generic failure for an unknown email and a wrong password (same body, same cost); a
   * disabled account is only revealed to someone who knows its password.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<TokenPair> {
    const result = await this.throttle
      .judge(
        email,
        client.ip,
        () => this.users.authenticate(email, password),
        (authentication) => authentication.outcome === 'authenticated',
      )
      .catch((error: unknown) => {
        if (error instanceof ApiException && error.code === 'too_many_attempts') {
          this.metrics.login('throttled');
        }
        throw error;
      });
    if (result.outcome !== 'authenticated') {
      this.failedLogin(
        email,
        result.outcome,
        result.outcome === 'wrong_password' ? result.userId : null,
        client,
      );
      throw new ApiException('invalid_credentials');
    }
    const { user, passwordHash } = result;
    if (!user.isActive) {
      this.failedLogin(email, 'account_disabled', user.id, client);
      throw new ApiException('account_disabled');
    }
    const started = await this.sessions.start(user.id, passwordHash, client);
    if (!started) {
      // The password changed, or the account was deactivated or deleted, while it was checked.
      const now = await this.users.findById(user.id);
      const reason = now && !now.isActive ? 'account_disabled' : 'wrong_password';
      this.failedLogin(email, reason, now ? user.id : null, client);
      throw new ApiException(
        reason === 'account_disabled' ? 'account_disabled' : 'invalid_credentials',
      );
    }
    const { session, refreshToken } = started;
    this.metrics.login('succeeded');
    this.audit.record({ type: 'login_succeeded', userId: user.id, sessionId: session.id, client });
    return this.tokenPair(user.id, session.id, user.roles, refreshToken, session.expiresAt);
  }

  async refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair> {
    const rotation = await this.sessions.rotate(refreshToken);
    this.metrics.refresh(rotation.outcome);
    if (rotation.outcome === 'reused') {
      this.audit.record({
        type: 'refresh_reuse_detected',
        userId: rotation.userId,
        sessionId: rotation.sessionId,
        client,
      });
      throw new ApiException('refresh_token_reused', {
        detail: 'This refresh token was already used; the session has been revoked',
      });
    }
    if (rotation.outcome === 'invalid') throw new ApiException('invalid_refresh_token');
    const { session } = rotation;
    this.audit.record({ type: 'refresh', userId: session.userId, sessionId: session.id, client });
    return this.tokenPair(
      session.userId,
      session.id,
      session.user.roles,
      rotation.refreshToken,
      session.expiresAt,
    );
  }

  /** Ends the caller's session: the bearer token's, or the one a refresh token belongs to. */
  async logout(
    actor: Actor | undefined,
    refreshToken: string | undefined,
    client: ClientInfo,
  ): Promise<void> {
    let session: { id: string; userId: string } | undefined;
    if (actor?.sessionId) {
      session = { id: actor.sessionId, userId: actor.userId };
    } else if (refreshToken !== undefined) {
      session = await this.sessions.sessionOfToken(refreshToken);
      if (!session) throw new ApiException('invalid_refresh_token');
    } else {
      throw new ApiException('invalid_token', {
        detail:
          'Send a bearer access token, or a refresh token in the body (an API key cannot log out)',
      });
    }
    if (await this.sessions.revoke(session.id, 'logout')) {
      this.audit.record({ type: 'logout', userId: session.userId, sessionId: session.id, client });
    }
  }

  async logoutAll(actor: Actor): Promise<void> {
    const count = await this.sessions.revokeAllForUser(actor.userId, 'logout_all');
    this.audit.record({
      type: 'logout',
      userId: actor.userId,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { allSessions: true, sessionsRevoked: count },
    });
  }

  private failedLogin(
    email: string,
    reason: 'unknown_email' | 'wrong_password' | 'account_disabled',
    userId: string | null,
    client: ClientInfo,
  ): void {
    this.metrics.login(reason === 'account_disabled' ? 'account_disabled' : 'invalid_credentials');
    this.audit.record({ type: 'login_failed', userId, client, detail: { email, reason } });
  }

  private tokenPair(
    userId: string,
    sessionId: string,
    roles: string[],
    refreshToken: string,
    sessionExpiresAt: Date,
  ): TokenPair {
    const access = this.accessTokens.sign(userId, { sid: sessionId, roles }, sessionExpiresAt);
    return {
      accessToken: access.token,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      refreshExpiresIn: Math.max(0, Math.floor((sessionExpiresAt.getTime() - Date.now()) / 1000)),
    };
  }
}
