import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { RateLimiterPostgres } from 'rate-limiter-flexible';
import { ApiException } from '../common/errors/api-exception';
import { AppConfig } from '../config/app-config';
import { LoginThrottleRepository, type LockRule } from './login-throttle.repository';
import { RateLimits } from './rate-limits.service';

/** The lock after the limit is reached, doubling with each further failure, up to the cap. */
export const LOCK_BASE_SECONDS = 30;
export const LOCK_CAP_SECONDS = 15 * 60;
/** Consecutive failures are counted within this window from the first of them. */
const FAILURE_WINDOW_SECONDS = 24 * 3600;
/** A client that logged in to an account is known to it for this long. */
const KNOWN_CLIENT_SECONDS = 30 * 24 * 3600;
/**
 * A count of checks in progress that no new check has renewed for this long is forgotten: a
 * check takes well under a second (and the database's own timeouts end it within seconds), so
 * only checks lost with a crashed instance, or whose outcome could not be recorded, are that old.
 */
const STALE_CHECK_SECONDS = 30;
/** How often rows holding nothing any more are deleted. */
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/** One login attempt, admitted by begin() and settled by finish() or cancel(). */
export interface LoginTicket {
  /** The counters it is judged on: the account's, or (for a known client) the account's at that client. */
  key: string;
  /** The account-and-client key, to remember the client by after a success. */
  clientKey: string | undefined;
}

/** Whether an attempt may go on, and if not, the answer it gets. */
type Admission = { admitted: true } | { admitted: false; failures: number; refusal: ApiException };

/**
 * Throttles password guessing per account, whether or not the account exists (so a 429 says
 * nothing about it). After LOGIN_MAX_FAILURES consecutive failures the account is locked: every
 * attempt, the right password included, gets 429 with Retry-After until the lock ends; each
 * further failure doubles the lock (30 s, 60 s, … capped at 15 minutes), and a success clears it
 * all.
 *
 * So that concurrent guesses cannot slip past the limit together, an attempt takes a place among
 * the account's checks in progress before its password is checked, and an account with f
 * failures admits at most LOGIN_MAX_FAILURES − f checks at once (one once the limit is reached:
 * the attempt let through when a lock ends); the rest get 429 with Retry-After: 1. A failure is
 * counted, and the lock set, in the same statement that gives the place back, so at most
 * LOGIN_MAX_FAILURES guesses are ever checked before the lock, however they are timed. An
 * account without failures thus takes that many concurrent logins.
 *
 * So that an attacker cannot lock the real user out, a client (IP address) from which the
 * account logged in during the last 30 days is judged on its own counters for that account once
 * the account has reached the limit: guessing from elsewhere does not lock the user out.
 *
 * The state is in PostgreSQL (login_throttle, see LoginThrottleRepository), shared by every
 * instance; which clients are known is a rate-limiter-flexible counter on the same database.
 */
@Injectable()
export class LoginThrottle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LoginThrottle.name);
  private readonly knownClients: RateLimiterPostgres;
  /** Clients remembered recently by this instance: no need to write it again for a while. */
  private readonly remembered = new LRUCache<string, true>({ max: 10_000, ttl: 3600 * 1000 });
  private readonly rule: LockRule;
  private cleanup?: NodeJS.Timeout;

  constructor(
    private readonly throttle: LoginThrottleRepository,
    rateLimits: RateLimits,
    config: AppConfig,
  ) {
    this.rule = {
      maxFailures: config.loginMaxFailures,
      baseSeconds: LOCK_BASE_SECONDS,
      capSeconds: LOCK_CAP_SECONDS,
    };
    this.knownClients = rateLimits.limiter({
      name: 'login-known',
      points: 1,
      durationSeconds: KNOWN_CLIENT_SECONDS,
    });
  }

  /** Admits an attempt, or answers 429 too_many_attempts (and counts nothing). */
  async begin(email: string, ip: string | null): Promise<LoginTicket> {
    const clientKey = ip === null ? undefined : RateLimits.key(`${email}\n${ip}`);
    const key = RateLimits.key(email);
    const account = await this.reserve(key);
    if (account.admitted) return { key, clientKey };
    await this.throttle.release(key);
    if (account.failures >= this.rule.maxFailures && clientKey && (await this.isKnown(clientKey))) {
      const client = await this.reserve(clientKey);
      if (client.admitted) return { key: clientKey, clientKey };
      await this.throttle.release(clientKey);
      throw client.refusal;
    }
    throw account.refusal;
  }

  /** Records the attempt's outcome: a success clears the counters, a failure may lock. */
  async finish(ticket: LoginTicket, succeeded: boolean): Promise<void> {
    if (!succeeded) {
      await this.throttle.recordFailure(ticket.key, this.rule);
      return;
    }
    await Promise.all([this.throttle.recordSuccess(ticket.key), this.remember(ticket.clientKey)]);
  }

  /** Settles an attempt that could not be judged (the database failed us, say). */
  async cancel(ticket: LoginTicket): Promise<void> {
    await this.throttle.release(ticket.key).catch(() => undefined);
  }

  onApplicationBootstrap(): void {
    this.cleanup = setInterval(() => void this.deleteIdle(), CLEANUP_INTERVAL_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.cleanup);
  }

  async deleteIdle(): Promise<void> {
    try {
      await this.throttle.deleteIdle(STALE_CHECK_SECONDS, FAILURE_WINDOW_SECONDS);
    } catch (error) {
      this.logger.warn(`Login throttle cleanup failed: ${(error as Error).message}`);
    }
  }

  /** Takes a place among the key's checks in progress; says whether the attempt may go on. */
  private async reserve(key: string): Promise<Admission> {
    const { checking, failures, lockedMs } = await this.throttle.reserve(
      key,
      STALE_CHECK_SECONDS,
      FAILURE_WINDOW_SECONDS,
    );
    const limitReached = failures >= this.rule.maxFailures;
    if (lockedMs > 0) {
      return { admitted: false, failures, refusal: tooManyFailures(lockedMs) };
    }
    if (checking > Math.max(1, this.rule.maxFailures - failures)) {
      const refusal = limitReached
        ? tooManyFailures(1000)
        : tooManyAttempts('Too many logins for this account at once; try again in a moment', 1000);
      return { admitted: false, failures, refusal };
    }
    return { admitted: true };
  }

  private async isKnown(clientKey: string): Promise<boolean> {
    return (await this.knownClients.get(clientKey)) !== null;
  }

  private async remember(clientKey: string | undefined): Promise<void> {
    if (!clientKey || this.remembered.has(clientKey)) return;
    await this.knownClients.set(clientKey, 1, KNOWN_CLIENT_SECONDS);
    this.remembered.set(clientKey, true);
  }
}

function tooManyFailures(msBeforeNext: number): ApiException {
  return tooManyAttempts('Too many failed logins for this account; try again later', msBeforeNext);
}

function tooManyAttempts(detail: string, msBeforeNext: number): ApiException {
  return new ApiException('too_many_attempts', {
    detail,
    retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
  });
}
