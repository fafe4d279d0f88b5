import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { RateLimiterRes, type RateLimiterPostgres } from 'rate-limiter-flexible';
import { ApiException } from '../common/errors/api-exception';
import { AppConfig } from '../config/app-config';
import { RateLimits } from './rate-limits.service';

/** The lock after the limit is reached, doubling with each further failure, up to the cap. */
export const LOCK_BASE_SECONDS = 15;
export const LOCK_CAP_SECONDS = 15 * 60;
/** Consecutive failures are counted within this window from the first of them. */
const FAILURE_WINDOW_SECONDS = 24 * 3600;
/** A client that logged in to an account is known to it for this long. */
const KNOWN_CLIENT_SECONDS = 30 * 24 * 3600;
/**
 * How long a check in progress holds its place (released when it ends; this bounds what a crashed
 * instance leaves behind), and how long the one attempt let through after a lock keeps the
 * others out.
 */
const CHECK_SECONDS = 30;

/** One login attempt, admitted by begin() and settled by finish() or cancel(). */
export interface LoginTicket {
  /** The counters it is judged on: the account's, or (for a known client) the account's at that client. */
  key: string;
  /** Consecutive failures on that key when the attempt began. */
  failures: number;
  /** Whether the attempt holds one of the key's places for checks in progress. */
  reserved: boolean;
  /** The account-and-client key, to remember the client by after a success. */
  clientKey: string | undefined;
}

/**
 * Throttles password guessing per account, whether or not the account exists (so a 429 says
 * nothing about it). After LOGIN_MAX_FAILURES consecutive failures the account is locked: every
 * attempt, the right password included, gets 429 with Retry-After until the lock ends, when one
 * attempt is let through; each further failure doubles the lock (15 s, 30 s, … capped at 15
 * minutes), and a success clears it all.
 *
 * Failures are counted atomically after each check, so none is lost. So that concurrent guesses
 * cannot slip past the limit together, the checks in progress count too: an account with f
 * failures admits at most LOGIN_MAX_FAILURES - f checks at once (the rest get 429 with
 * Retry-After: 1). An account without failures thus takes that many concurrent logins.
 *
 * So that an attacker cannot lock the real user out, a client (IP address) from which the
 * account logged in during the last 30 days is judged on its own counters for that account when
 * the account is locked: guessing from elsewhere does not lock the user out.
 *
 * The counters are rate-limiter-flexible limiters on the shared PostgreSQL store: every instance
 * sees the same counts.
 */
@Injectable()
export class LoginThrottle {
  private readonly failures: RateLimiterPostgres;
  private readonly checking: RateLimiterPostgres;
  private readonly gate: RateLimiterPostgres;
  private readonly knownClients: RateLimiterPostgres;
  /** Clients remembered recently by this instance: no need to write it again for a while. */
  private readonly remembered = new LRUCache<string, true>({ max: 10_000, ttl: 3600 * 1000 });
  private readonly maxFailures: number;

  constructor(rateLimits: RateLimits, config: AppConfig) {
    this.maxFailures = config.loginMaxFailures;
    const counter = (name: string, points: number, durationSeconds: number) =>
      rateLimits.limiter({ name, points, durationSeconds });
    this.failures = counter('login-failures', Number.MAX_SAFE_INTEGER, FAILURE_WINDOW_SECONDS);
    this.checking = counter('login-checking', Number.MAX_SAFE_INTEGER, CHECK_SECONDS);
    this.gate = counter('login-lock', 1, CHECK_SECONDS);
    this.knownClients = counter('login-known', 1, KNOWN_CLIENT_SECONDS);
  }

  /** Admits an attempt, or answers 429 too_many_attempts (and counts nothing). */
  async begin(email: string, ip: string | null): Promise<LoginTicket> {
    const clientKey = ip === null ? undefined : RateLimits.key(`${email}\n${ip}`);
    let key = RateLimits.key(email);
    let failures = await this.failureCount(key);
    if (failures >= this.maxFailures && clientKey && (await this.knownClients.get(clientKey))) {
      key = clientKey;
      failures = await this.failureCount(key);
    }
    if (failures >= this.maxFailures) {
      // Locked: nothing passes until the lock ends, then one attempt.
      try {
        await this.gate.consume(key);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        throw tooManyAttempts(
          'Too many failed logins for this account; try again later',
          error.msBeforeNext,
        );
      }
      return { key, failures, reserved: false, clientKey };
    }
    const checking = (await this.checking.penalty(key)).consumedPoints;
    if (failures + checking > this.maxFailures) {
      await this.checking.reward(key);
      throw tooManyAttempts(
        'Too many logins for this account at once; try again in a moment',
        1000,
      );
    }
    return { key, failures, reserved: true, clientKey };
  }

  /** Records the attempt's outcome: a success clears the counters, a failure may lock. */
  async finish(ticket: LoginTicket, succeeded: boolean): Promise<void> {
    if (ticket.reserved) await this.checking.reward(ticket.key);
    if (!succeeded) {
      const failures = (await this.failures.penalty(ticket.key)).consumedPoints;
      if (failures >= this.maxFailures) {
        await this.gate.block(ticket.key, this.lockSeconds(failures));
      }
      return;
    }
    await Promise.all([
      ticket.failures > 0 ? this.failures.delete(ticket.key) : undefined,
      ticket.failures >= this.maxFailures ? this.gate.delete(ticket.key) : undefined,
      this.remember(ticket.clientKey),
    ]);
  }

  /** Settles an attempt that could not be judged (the database failed us, say). */
  async cancel(ticket: LoginTicket): Promise<void> {
    if (ticket.reserved) await this.checking.reward(ticket.key).catch(() => undefined);
  }

  lockSeconds(failures: number): number {
    return Math.min(LOCK_CAP_SECONDS, LOCK_BASE_SECONDS * 2 ** (failures - this.maxFailures));
  }

  private async failureCount(key: string): Promise<number> {
    return (await this.failures.get(key))?.consumedPoints ?? 0;
  }

  private async remember(clientKey: string | undefined): Promise<void> {
    if (!clientKey || this.remembered.has(clientKey)) return;
    await this.knownClients.set(clientKey, 1, KNOWN_CLIENT_SECONDS);
    this.remembered.set(clientKey, true);
  }
}

function tooManyAttempts(detail: string, msBeforeNext: number): ApiException {
  return new ApiException('too_many_attempts', {
    detail,
    retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
  });
}
