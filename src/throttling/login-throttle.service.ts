import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { LRUCache } from 'lru-cache';
import type { RateLimiterPostgres } from 'rate-limiter-flexible';
import { ApiException } from '../common/errors/api-exception';
import { LoginThrottleRepository, type Admission, type Refusal } from './login-throttle.repository';
import { LOCK_CAP_SECONDS, THROTTLE_RULES, type ThrottleRules } from './login-throttle.rules';
import { PlaceWaiters } from './place-waiters';
import { RateLimits } from './rate-limits.service';

/** A client that logged in to an account is known to it for this long. */
const KNOWN_CLIENT_SECONDS = 30 * 24 * 3600;
/** How often rows holding nothing live are deleted, and how many per statement. */
const CLEANUP_INTERVAL_MS = 3600 * 1000;
const CLEANUP_BATCH = 5_000;
/**
 * How long an attempt below the limit waits for a place among its account's checks in progress,
 * and how often it asks again meanwhile when no place given back by this instance wakes it
 * (another instance's, or one lost): a check takes tens of milliseconds, a lost one 30 s.
 */
const PLACE_WAIT_MS = 1_500;
const PLACE_ASK_FIRST_MS = 100;
const PLACE_ASK_MAX_MS = 400;

/** One login attempt, admitted by begin() and settled by finish() or cancel(). */
interface LoginTicket {
  /** The counters it is judged on: the account's, or (for a known client) the account's at that client. */
  key: string;
  /** The account-and-client key, to remember the client by after a success. */
  clientKey: string | undefined;
}

/**
 * Throttles password guessing per account, whether or not the account exists (so a 429 says
 * nothing about it). After LOGIN_MAX_FAILURES consecutive failures the account is locked: every
 * attempt, the right password included, gets 429 with Retry-After until the lock ends; each
 * further failure doubles the lock (30 s, 60 s, … capped at 15 minutes), and a success clears it
 * all. A run of failures is forgotten a day after its latest failure.
 *
 * So that concurrent guesses cannot slip past the limit together, an attempt is admitted only
 * with a place among the account's checks in progress: an account with f failures has
 * LOGIN_MAX_FAILURES − f places (one once the limit is reached: the attempt let through when a
 * lock ends). A failure is counted, and the lock set, in the statement that gives the place back,
 * so at most LOGIN_MAX_FAILURES guesses are checked before the lock, however they are timed.
 * Below the limit, an attempt without a place waits for one (PLACE_WAIT_MS at most, and at most
 * `maxWaiting` attempts per account on each instance), since concurrent logins that have not
 * failed must not be refused; at the limit, or when the wait is over or full, it gets 429 with
 * Retry-After: 1 and changes nothing.
 *
 * So that an attacker cannot lock the real user out, a client (its network, RateLimits.network)
 * from which the account logged in during the last 30 days is judged on its own counters for that
 * account once the account has reached the limit: guessing from elsewhere does not lock the user
 * out. Below the limit an account refuses only while all its places are taken, which lasts as long
 * as the checks do (or, for a check that was lost, until it is forgotten: 30 s without
 * admissions).
 *
 * The state is in PostgreSQL (login_throttle, see LoginThrottleRepository), shared by every
 * instance; which clients are known is a rate-limiter-flexible counter on the same database.
 */
@Injectable()
export class LoginThrottle {
  private readonly logger = new Logger(LoginThrottle.name);
  private readonly knownClients: RateLimiterPostgres;
  /** Clients remembered recently by this instance: no need to write it again for a while. */
  private readonly remembered = new LRUCache<string, true>({ max: 10_000, ttl: 3600 * 1000 });
  private readonly waiters: PlaceWaiters;

  constructor(
    private readonly throttle: LoginThrottleRepository,
    rateLimits: RateLimits,
    @Inject(THROTTLE_RULES) private readonly rules: ThrottleRules,
  ) {
    this.waiters = new PlaceWaiters(rules.maxWaiting);
    this.knownClients = rateLimits.limiter({
      name: 'login-known',
      points: 1,
      durationSeconds: KNOWN_CLIENT_SECONDS,
    });
  }

  /**
   * Runs one check of a password presented for `account`, the name its counters go by (a login's
   * email, known or not; `user:<id>` for the current password of a password change, which changing
   * the email must not reset): admitted or answered 429 too_many_attempts as begin() decides, its
   * outcome recorded, or its place given back when the check itself failed (the database away).
   */
  async judge<T>(
    account: string,
    ip: string | null,
    check: () => Promise<T>,
    succeeded: (result: T) => boolean,
  ): Promise<T> {
    const ticket = await this.begin(account, ip);
    let result: T;
    try {
      result = await check();
    } catch (error) {
      await this.cancel(ticket);
      throw error;
    }
    await this.finish(ticket, succeeded(result));
    return result;
  }

  /** Admits an attempt, or answers 429 too_many_attempts (and changes nothing). */
  private async begin(account: string, ip: string | null): Promise<LoginTicket> {
    const key = RateLimits.key(account);
    const clientKey = ip === null ? undefined : RateLimits.clientKey(ip, account);
    // One wait in all, for the account's place and then, if need be, the known client's.
    const waitUntil = Date.now() + PLACE_WAIT_MS;
    const admission = await this.admit(key, waitUntil);
    if (admission.admitted) return { key, clientKey };
    if (admission.refusal.atLimit && clientKey && (await this.isKnown(clientKey))) {
      const asClient = await this.admit(clientKey, waitUntil);
      if (asClient.admitted) return { key: clientKey, clientKey };
      throw tooManyFor(asClient.refusal);
    }
    throw tooManyFor(admission.refusal);
  }

  /**
   * Takes a place for `key`, waiting for one until `until` (see the class) while the key refuses
   * only because its places are taken.
   */
  private async admit(key: string, until: number): Promise<Admission> {
    let admission = await this.throttle.admit(key);
    if (admission.admitted || admission.refusal.atLimit) return admission;
    const waiter = this.waiters.join(key);
    if (!waiter) return admission;
    try {
      for (let pause = PLACE_ASK_FIRST_MS; ; pause = Math.min(2 * pause, PLACE_ASK_MAX_MS)) {
        const left = until - Date.now();
        if (left <= 0) return admission;
        await waiter.next(Math.min(pause, left));
        admission = await this.throttle.admit(key);
        if (admission.admitted || admission.refusal.atLimit) return admission;
      }
    } finally {
      waiter.leave();
    }
  }

  /** Records the attempt's outcome: a success clears the counters, a failure may lock. */
  private async finish(ticket: LoginTicket, succeeded: boolean): Promise<void> {
    if (!succeeded) {
      // A failure gives its place back but takes one away (one more failure): no waiting attempt
      // gains anything, unless it locked the key, which they must hear of at once.
      const { locked } = await this.throttle.recordFailure(ticket.key);
      if (locked) this.waiters.wakeAll(ticket.key);
      return;
    }
    await Promise.all([
      // A success gives its place back and clears the failures: as many places as the account
      // has, at most.
      this.throttle
        .recordSuccess(ticket.key)
        .then(() => this.waiters.wake(ticket.key, this.rules.maxFailures)),
      this.remember(ticket.clientKey),
    ]);
  }

  /**
   * Settles an attempt that could not be judged (the database failed us, say). If even that
   * fails, the place is forgotten once no admission has renewed the count for a while.
   */
  private async cancel(ticket: LoginTicket): Promise<void> {
    await this.throttle.release(ticket.key).then(
      () => this.waiters.wake(ticket.key),
      () => undefined,
    );
  }

  @Interval(CLEANUP_INTERVAL_MS)
  async deleteExpired(): Promise<void> {
    try {
      await this.throttle.deleteExpired(CLEANUP_BATCH);
    } catch (error) {
      this.logger.warn(`Login throttle cleanup failed: ${(error as Error).message}`);
    }
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

/** The answer to an attempt a key refused. */
function tooManyFor({ lockedMs, atLimit }: Refusal): ApiException {
  if (atLimit) {
    return tooManyAttempts(
      'Too many failed logins for this account; try again later',
      Math.max(lockedMs, 1000),
    );
  }
  return tooManyAttempts('Too many logins for this account at once; try again in a moment', 1000);
}

function tooManyAttempts(detail: string, msBeforeNext: number): ApiException {
  return new ApiException('too_many_attempts', {
    detail,
    // Never past the cap: the lock's end is read a moment after it was set.
    retryAfterSeconds: Math.min(LOCK_CAP_SECONDS, Math.max(1, Math.ceil(msBeforeNext / 1000))),
  });
}
