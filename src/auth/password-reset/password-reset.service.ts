import { createHash, randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AuditLog } from '../../audit/audit-log.service';
import type { ClientInfo } from '../../common/client-info';
import { ApiException } from '../../common/errors/api-exception';
import { WorkLimiter, WorkQueueFullError } from '../../common/work-limiter';
import { AppConfig } from '../../config/app-config';
import { DEFAULT_PASSWORD_RESET_URL } from '../../config/config.schema';
import { PrismaService } from '../../database/prisma.service';
import { Mailer } from '../../mail/mailer.service';
import { passwordResetMail } from '../../mail/password-reset.mail';
import { RateLimits, type RateLimit } from '../../throttling/rate-limits.service';
import { UsersService } from '../../users/users.service';
import type { TokenHash } from '../tokens/refresh-token-codec';
import { PasswordResetTokensRepository } from './password-reset-tokens.repository';

/** Reset requests: per email (an inbox cannot be flooded) and per client IP (nor many inboxes). */
export const RESET_LIMITS = {
  perEmail: { points: 3, durationSeconds: 3600 },
  perIp: { points: 20, durationSeconds: 3600 },
} as const;

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;
/** How long deliveries under way may take to finish at shutdown. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Password reset by email. A request is answered 202 at once, the same for every email: looking
 * the account up, storing the token and sending the mail happen afterwards, off the request path,
 * so neither the answer nor its timing says whether the account exists. The token (32 bytes from
 * the CSPRNG, base64url) is stored only as its SHA-256, replaced by a newer request, void after a
 * password change, and spent by the one confirmation that sets the new password and ends every
 * session of the user.
 */
@Injectable()
export class PasswordResetService implements OnApplicationBootstrap {
  private readonly logger = new Logger(PasswordResetService.name);
  /** Deliveries in the background: a few at a time, a bounded backlog. */
  private readonly deliveries = new WorkLimiter(2, 1_000);
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private readonly perEmail: RateLimit;
  private readonly perIp: RateLimit;

  constructor(
    private readonly users: UsersService,
    private readonly tokens: PasswordResetTokensRepository,
    private readonly mailer: Mailer,
    private readonly audit: AuditLog,
    private readonly prisma: PrismaService,
    private readonly config: AppConfig,
    rateLimits: RateLimits,
  ) {
    this.perEmail = rateLimits.create({ name: 'reset-email', ...RESET_LIMITS.perEmail });
    this.perIp = rateLimits.create({ name: 'reset-ip', ...RESET_LIMITS.perIp });
    prisma.beforeDisconnect(() => this.stop());
  }

  /**
   * A production deployment whose reset mails cannot reach anyone still answers every request
   * 202 (the contract), so the operator hears of it here, once, at start.
   */
  onApplicationBootstrap(): void {
    const { env, mail, passwordReset } = this.config;
    if (env !== 'production') return;
    if (!mail.smtpUrl) {
      this.logger.warn(
        'SMTP_URL is not set: password-reset mails are only logged, without their token, so no one can reset a password',
      );
    } else if (passwordReset.url === DEFAULT_PASSWORD_RESET_URL) {
      this.logger.warn(
        `PASSWORD_RESET_URL is not set: reset mails link to ${DEFAULT_PASSWORD_RESET_URL}`,
      );
    }
  }

  async request(email: string, client: ClientInfo): Promise<void> {
    if (client.ip) await this.perIp.consume(RateLimits.clientKey(client.ip));
    await this.perEmail.consume(RateLimits.key(email));
    const delivery = this.deliveries
      .run(() => this.deliver(email, client))
      .catch((error) => {
        if (error instanceof WorkQueueFullError) {
          this.logger.warn('Password reset backlog is full; a request was dropped');
        } else {
          this.logger.error(`Password reset delivery failed: ${(error as Error).message}`);
        }
      });
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  async confirm(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    const tokenHash = TOKEN_FORMAT.test(token) ? hash(token) : undefined;
    // Checked before the new password is hashed, so bad tokens cost no argon2 work.
    if (!tokenHash || !(await this.tokens.isLive(tokenHash, new Date()))) throw invalidToken();
    const password = await this.users.preparePassword(newPassword);
    const userId = await this.prisma.$transaction(async (tx) => {
      const owner = await this.tokens.claim(tokenHash, new Date(), tx);
      if (!owner) throw invalidToken();
      await this.users.applyPassword(
        owner,
        password,
        { reason: 'password_reset', revokeApiKeys: true },
        tx,
      );
      return owner;
    });
    this.audit.record({ type: 'password_reset_completed', userId, client });
  }

  /**
   * At shutdown: deliveries not yet started are dropped (the user can ask again), those under way
   * get a few seconds to finish, so a stuck SMTP server cannot hold the shutdown up.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.inFlight),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(timer);
  }

  private async deliver(email: string, client: ClientInfo): Promise<void> {
    if (this.stopping) return;
    const notSent = (reason: string, userId?: string) =>
      this.audit.record({
        type: 'password_reset_requested',
        userId,
        client,
        detail: { email, sent: false, reason },
      });
    const user = await this.users.findByEmail(email);
    if (!user?.isActive) return notSent(user ? 'account_disabled' : 'unknown_email');
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const { ttlSeconds, url } = this.config.passwordReset;
    const issued = await this.tokens.issue(
      user.id,
      user.email,
      hash(token),
      now,
      new Date(now.getTime() + ttlSeconds * 1000),
    );
    // The address or the account changed between the lookup and now: the request was for an
    // account that no longer has this email, or is no longer active.
    if (!issued) return notSent('account_changed', user.id);
    let sent = true;
    try {
      await this.mailer.send(passwordResetMail(user.email, url, token, ttlSeconds));
    } catch (error) {
      sent = false;
      this.logger.warn(
        `Password reset mail for user ${user.id} could not be sent: ${(error as Error).message}`,
      );
    }
    this.audit.record({
      type: 'password_reset_requested',
      userId: user.id,
      client,
      detail: { sent },
    });
  }
}

function hash(token: string): TokenHash {
  return Uint8Array.from(createHash('sha256').update(token).digest());
}

function invalidToken(): ApiException {
  return new ApiException('invalid_token', {
    status: 400,
    detail: 'This password-reset link is invalid, expired or already used',
  });
}
