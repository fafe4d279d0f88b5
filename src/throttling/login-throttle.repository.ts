import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

/** What a key's state was when an attempt took its place among the checks in progress. */
export interface Reservation {
  /** Checks in progress on the key, this one included. */
  checking: number;
  /** Consecutive failures in the current run. */
  failures: number;
  /** How long the key stays locked (0: not locked). */
  lockedMs: number;
}

/** The lock a run of failures imposes: `baseSeconds · 2^(failures − maxFailures)`, capped. */
export interface LockRule {
  maxFailures: number;
  baseSeconds: number;
  capSeconds: number;
}

/**
 * The `login_throttle` rows, each changed only by one atomic statement (an upsert or an UPDATE
 * takes the row's lock), so instances sharing the database never lose or double a count. Times
 * are the database's, so instances' clocks do not matter.
 */
@Injectable()
export class LoginThrottleRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Takes a place among the key's checks in progress and returns the key's state. A count of
   * checks not renewed for `staleSeconds` is forgotten, as is a run of failures that began more
   * than `failureWindowSeconds` ago.
   */
  async reserve(
    key: string,
    staleSeconds: number,
    failureWindowSeconds: number,
  ): Promise<Reservation> {
    const [row] = await this.prisma.$queryRaw<Reservation[]>`
      INSERT INTO login_throttle AS t (key, checking, checking_since)
      VALUES (${key}, 1, now())
      ON CONFLICT (key) DO UPDATE SET
        checking = CASE
          WHEN t.checking_since > now() - make_interval(secs => ${staleSeconds}) THEN t.checking + 1
          ELSE 1 END,
        checking_since = now(),
        failures = CASE
          WHEN t.failing_since > now() - make_interval(secs => ${failureWindowSeconds})
          THEN t.failures ELSE 0 END,
        failing_since = CASE
          WHEN t.failing_since > now() - make_interval(secs => ${failureWindowSeconds})
          THEN t.failing_since END
      RETURNING t.checking, t.failures,
        COALESCE(GREATEST(0, EXTRACT(EPOCH FROM t.locked_until - now()) * 1000), 0)::float8
          AS "lockedMs"`;
    return row;
  }

  /** Gives back a place among the checks in progress. */
  async release(key: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET checking = GREATEST(checking - 1, 0) WHERE key = ${key}`;
  }

  /**
   * Gives back the place and counts a failure; from the rule's limit on, the key is locked, for
   * longer with each failure. One statement, so no attempt is admitted between the count and
   * the lock.
   */
  async recordFailure(key: string, rule: LockRule): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET
        checking = GREATEST(checking - 1, 0),
        failures = failures + 1,
        failing_since = COALESCE(failing_since, now()),
        locked_until = CASE
          WHEN failures + 1 >= ${rule.maxFailures}
          THEN now() + make_interval(secs => LEAST(${rule.capSeconds}::float8,
            ${rule.baseSeconds}::float8 * power(2, LEAST(failures + 1 - ${rule.maxFailures}, 30))))
          ELSE locked_until END
      WHERE key = ${key}`;
  }

  /** Gives back the place and clears the run of failures and its lock. */
  async recordSuccess(key: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET
        checking = GREATEST(checking - 1, 0),
        failures = 0, failing_since = NULL, locked_until = NULL
      WHERE key = ${key}`;
  }

  /** Deletes the rows that hold nothing any more: no live failures, lock or checks. */
  async deleteIdle(staleSeconds: number, failureWindowSeconds: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM login_throttle
       WHERE (checking = 0 OR checking_since <= now() - make_interval(secs => ${staleSeconds}))
         AND (locked_until IS NULL OR locked_until <= now())
         AND (failures = 0
              OR failing_since <= now() - make_interval(secs => ${failureWindowSeconds}))`;
  }
}
