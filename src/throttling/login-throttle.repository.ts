import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { THROTTLE_RULES, type ThrottleRules } from './login-throttle.rules';

/** Why a key refused an attempt, read after the refusal. */
export interface Refusal {
  /** How long the key stays locked (0: not locked). */
  lockedMs: number;
  /** Whether the key is locked or has reached the limit (then one check at a time, after the lock). */
  atLimit: boolean;
}

/**
 * The `login_throttle` rows, each changed only by one atomic statement (an upsert or an UPDATE
 * takes the row's lock), so instances sharing the database never lose or double a count, and
 * admission is decided in the same statement that takes the place. Times are the database's, so
 * instances' clocks do not matter.
 */
@Injectable()
export class LoginThrottleRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(THROTTLE_RULES) private readonly rules: ThrottleRules,
  ) {}

  /**
   * Takes a place among the key's checks in progress if the key admits one more: it is not
   * locked, and fewer checks are in progress than `maxFailures` minus its live failures (at
   * least one: the attempt let through when a lock ends). A refused attempt changes nothing.
   */
  async admit(key: string): Promise<boolean> {
    const { staleCheckSeconds: stale, failureWindowSeconds: window, maxFailures } = this.rules;
    // The row's checks in progress and failures that still count (older ones are forgotten).
    const liveChecking = Prisma.sql`CASE WHEN t.checking_since > now() - make_interval(secs => ${stale})
                                         THEN t.checking ELSE 0 END`;
    const liveFailures = Prisma.sql`CASE WHEN t.last_failure_at > now() - make_interval(secs => ${window})
                                         THEN t.failures ELSE 0 END`;
    const rows = await this.prisma.$queryRaw<unknown[]>`
      INSERT INTO login_throttle AS t (key, checking, checking_since, expires_at)
      VALUES (${key}, 1, now(), now() + make_interval(secs => ${stale}))
      ON CONFLICT (key) DO UPDATE SET
        checking = ${liveChecking} + 1,
        checking_since = now(),
        failures = ${liveFailures},
        expires_at = GREATEST(t.expires_at, now() + make_interval(secs => ${stale}))
      WHERE (t.locked_until IS NULL OR t.locked_until <= now())
        AND ${liveChecking} < GREATEST(1, ${maxFailures} - ${liveFailures})
      RETURNING 1`;
    return rows.length > 0;
  }

  /** Why the key refuses attempts now (for the answer's Retry-After). */
  async refusal(key: string): Promise<Refusal> {
    const { failureWindowSeconds: window, maxFailures } = this.rules;
    const [row] = await this.prisma.$queryRaw<Refusal[]>`
      SELECT COALESCE(GREATEST(0, EXTRACT(EPOCH FROM locked_until - clock_timestamp()) * 1000), 0)
               ::float8 AS "lockedMs",
             COALESCE(locked_until > clock_timestamp()
                      OR (failures >= ${maxFailures}
                          AND last_failure_at > now() - make_interval(secs => ${window})),
                      false) AS "atLimit"
        FROM login_throttle WHERE key = ${key}`;
    return row ?? { lockedMs: 0, atLimit: false };
  }

  /** Gives back a place among the checks in progress. */
  async release(key: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET checking = GREATEST(checking - 1, 0) WHERE key = ${key}`;
  }

  /**
   * Gives back the place and counts a failure; from `maxFailures` on, the key is locked, for
   * longer with each failure. One statement, so no attempt is admitted between the count and
   * the lock. (The admission that took the place already forgot a run past its window.)
   */
  async recordFailure(key: string): Promise<void> {
    const { maxFailures, lockBaseSeconds, lockCapSeconds, failureWindowSeconds } = this.rules;
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET
        checking = GREATEST(checking - 1, 0),
        failures = failures + 1,
        last_failure_at = now(),
        locked_until = CASE
          WHEN failures + 1 >= ${maxFailures}
          THEN now() + make_interval(secs => LEAST(${lockCapSeconds}::float8,
            ${lockBaseSeconds}::float8 * power(2, LEAST(failures + 1 - ${maxFailures}, 30))))
          ELSE locked_until END,
        expires_at = GREATEST(expires_at, now() + make_interval(secs => ${failureWindowSeconds}))
      WHERE key = ${key}`;
  }

  /** Gives back the place and clears the run of failures and its lock. */
  async recordSuccess(key: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET
        checking = GREATEST(checking - 1, 0),
        failures = 0, last_failure_at = NULL, locked_until = NULL
      WHERE key = ${key}`;
  }

  /**
   * Deletes the rows that hold nothing live any more, `batchSize` at a time (each batch a short
   * statement on the expires_at index, however many rows an attack left); returns how many.
   */
  async deleteExpired(batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM login_throttle WHERE key IN (
          SELECT key FROM login_throttle WHERE expires_at <= now() LIMIT ${batchSize})`;
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
