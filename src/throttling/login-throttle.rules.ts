import type { Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/** The lock at LOGIN_MAX_FAILURES (the contract: at least 30 s), doubling with each failure after. */
export const LOCK_BASE_SECONDS = 30;
export const LOCK_CAP_SECONDS = 15 * 60;

/** The rules a login throttle key's state is judged by. */
export interface ThrottleRules {
  /** Failures that lock a key; also the most checks in progress on a key without failures. */
  maxFailures: number;
  /** The lock at the limit, doubling with each further failure, up to the cap. */
  lockBaseSeconds: number;
  lockCapSeconds: number;
  /** A run of failures is forgotten this long after its latest failure. */
  failureWindowSeconds: number;
  /**
   * A count of checks in progress that no admission has renewed for this long is forgotten: a
   * check takes well under a second (the database's own timeouts end it within seconds), so
   * only checks lost with a crashed instance, or whose outcome could not be recorded, are older.
   */
  staleCheckSeconds: number;
  /**
   * The most attempts that wait for a place per key on one instance (LoginThrottle); beyond
   * them, 429 at once.
   */
  maxWaiting: number;
}

/**
 * About as many attempts as an account's places let through in one wait (five places, checks of
 * 50–100 ms with both cores busy, 1.5 s): concurrent correct logins to one account (a shared
 * account, workers starting together) are served rather than refused, while a flood beyond them
 * costs one statement per attempt. At the limit nobody waits, so a guessing flood waits only until
 * its first failures lock the account.
 */
const MAX_WAITING_PER_KEY = 64;

export const THROTTLE_RULES = Symbol('ThrottleRules');

export const throttleRulesProvider: Provider = {
  provide: THROTTLE_RULES,
  inject: [AppConfig],
  useFactory: (config: AppConfig): ThrottleRules => ({
    maxFailures: config.loginMaxFailures,
    lockBaseSeconds: LOCK_BASE_SECONDS,
    lockCapSeconds: LOCK_CAP_SECONDS,
    failureWindowSeconds: 24 * 3600,
    staleCheckSeconds: 30,
    maxWaiting: MAX_WAITING_PER_KEY,
  }),
};
