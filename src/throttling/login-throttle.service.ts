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
/** How long the one attempt let through after a lock holds the gate shut for others. */
const ATTEMPT_SECONDS = 5;

/** One login attempt, counted before the password is checked. */
export interface LoginTicket {
  /** The counter it was counted on: the account's, or (for a known client) the account's at that client. */
  key: string;
  /** Failures counted on that key, this attempt included. */
  count: number;
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
 * Each attempt is counted before its password is checked (and given back if it is refused or
 * cannot be judged), in one atomic statement, so concurrent attempts cannot slip past the limit
 * together and no failure is lost.
 *
 * So that an attacker cannot lock the real user out, a client (IP address) from which the
 * account logged in during the last 30 days is judged on its own counter for that account when
 * the account's counter is over its limit: guessing from elsewhere does not lock it out.
 *
 * The counters are rate-limiter-flexible limiters on the shared PostgreSQL store: every instance
 * sees the same counts.
 */
@Injectable()
export class LoginThrottle {
  private readonly failures: RateLimiterPostgres;
  private readonly gate: RateLimiterPostgres;
  private readonly knownClients: RateLimiterPostgres;
  /** Clients remembered recently by this instance: no need to write it again for a while. */
  private readonly remembered = new LRUCache<string, true>({ max: 10_000, ttl: 3600 * 1000 });
  private readonly maxFailures: number;

  constructor(rateLimits: RateLimits, config: AppConfig) {
    this.maxFailures = config.loginMaxFailures;
    this.failures = rateLimits.limiter({
      name: 'login-failures',
      points: Number.MAX_SAFE_INTEGER,
      durationSeconds: FAILURE_WINDOW_SECONDS,
    });
    this.gate = rateLimits.limiter({
      name: 'login-lock',
      points: 1,
      durationSeconds: ATTEMPT_SECONDS,
    });
    this.knownClients = rateLimits.limiter({
      name: 'login-known',
      points: 1,
      durationSeconds: KNOWN_CLIENT_SECONDS,
    });
  }

  /** Counts an attempt; 429 too_many_attempts (nothing counted) while the account is locked. */
  async begin(email: string, ip: string | null): Promise<LoginTicket> {
    const clientKey = ip === null ? undefined : RateLimits.key(`${email}\n${ip}`);
    let key = RateLimits.key(email);
    let count = await this.count(key);
    if (count > this.maxFailures && clientKey && (await this.knownClients.get(clientKey))) {
      await this.failures.reward(key);
      key = clientKey;
      count = await this.count(key);
    }
    if (count > this.maxFailures) {
      try {
        await this.gate.consume(key);
      } catch (error) {
        await this.failures.reward(key);
        if (!(error instanceof RateLimiterRes)) throw error;
        throw new ApiException('too_many_attempts', {
          detail: 'Too many failed logins for this account; try again later',
          retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
        });
      }
    }
    return { key, count, clientKey };
  }

  /** Records the attempt's outcome: a success clears the counters, a failure may lock. */
  async finish(ticket: LoginTicket, succeeded: boolean): Promise<void> {
    if (!succeeded) {
      if (ticket.count >= this.maxFailures) {
        await this.gate.block(ticket.key, this.lockSeconds(ticket.count));
      }
      return;
    }
    await Promise.all([
      this.failures.delete(ticket.key),
      // A lock exists only once the limit was reached.
      ticket.count > this.maxFailures ? this.gate.delete(ticket.key) : undefined,
      this.remember(ticket.clientKey),
    ]);
  }

  /** Gives the attempt back: it could not be judged (the database failed us, say). */
  async cancel(ticket: LoginTicket): Promise<void> {
    await this.failures.reward(ticket.key).catch(() => undefined);
  }

  lockSeconds(failures: number): number {
    return Math.min(LOCK_CAP_SECONDS, LOCK_BASE_SECONDS * 2 ** (failures - this.maxFailures));
  }

  private async count(key: string): Promise<number> {
    return (await this.failures.penalty(key)).consumedPoints;
  }

  private async remember(clientKey: string | undefined): Promise<void> {
    if (!clientKey || this.remembered.has(clientKey)) return;
    await this.knownClients.set(clientKey, 1, KNOWN_CLIENT_SECONDS);
    this.remembered.set(clientKey, true);
  }
}
