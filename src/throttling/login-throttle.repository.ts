import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { THROTTLE_RULES, type ThrottleRules } from './login-throttle.rules';

/** Why a key refused an attempt. */
export interface Refusal {
  /** How long the key stays locked (0: not locked). */
  lockedMs: number;
  /** Whether the key is locked or has reached the limit (then one check at a time, after the lock). */
  atLimit: boolean;
}

/** An attempt admitted, or refused and why. */
export type Admission = { admitted: true } | { admitted: false; refusal: Refusal };

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
   * least one: the attempt let through when a lock ends). A refused attempt changes nothing,
   * and says why it was refused.
   *
   * One statement. The key's row as the statement's snapshot sees it decides refusals that are
   * plain already (a lock, every place taken): those are a read, so attempts at a locked account
   * neither wait for its row's lock nor take it (nor a transaction id). Otherwise the upsert
   * decides on the row's latest version, under its lock, so concurrent attempts never take more
   * places than there are.
   */
  async admit(key: string): Promise<Admission> {
    const { staleCheckSeconds: stale } = this.rules;
    const [row] = await this.prisma.$queryRaw<
      { admitted: boolean; refusedAsSeen: boolean; lockedMs: number; atLimit: boolean }[]
    >`
      WITH seen AS (
        SELECT t.*, ${this.admits('t')} AS admits FROM login_throttle t WHERE t.key = ${key}
      ), taken AS (
        INSERT INTO login_throttle AS t (key, checking, checking_since, expires_at)
        SELECT ${key}, 1, now(), now() + make_interval(secs => ${stale})
         WHERE NOT EXISTS (SELECT 1 FROM seen WHERE NOT seen.admits)
        ON CONFLICT (key) DO UPDATE SET
          checking = ${this.liveChecking('t')} + 1,
          checking_since = now(),
          failures = ${this.liveFailures('t')},
          expires_at = GREATEST(t.expires_at, now() + make_interval(secs => ${stale}))
        WHERE ${this.admits('t')}
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM taken) AS admitted,
             EXISTS (SELECT 1 FROM seen WHERE NOT seen.admits) AS "refusedAsSeen",
             ${this.refusalOf('seen')}
        FROM (SELECT 1) AS one LEFT JOIN seen ON true`;
    if (row.admitted) return { admitted: true };
    const { refusedAsSeen, lockedMs, atLimit } = row;
    // Else refused by a row that changed after the snapshot: read why from its latest version.
    return {
      admitted: false,
      refusal: refusedAsSeen ? { lockedMs, atLimit } : await this.refusal(key),
    };
  }

  /** Why the key refuses attempts now (for the answer's Retry-After). */
  private async refusal(key: string): Promise<Refusal> {
    const [row] = await this.prisma.$queryRaw<Refusal[]>`
      SELECT ${this.refusalOf('t')} FROM login_throttle t WHERE t.key = ${key}`;
    return row ?? { lockedMs: 0, atLimit: false };
  }

  /** Whether the row `alias` admits one more check (see admit). */
  private admits(alias: string): Prisma.Sql {
    const t = Prisma.raw(alias);
    return Prisma.sql`((${t}.locked_until IS NULL OR ${t}.locked_until <= now())
      AND ${this.liveChecking(alias)} < GREATEST(1, ${this.rules.maxFailures} - ${this.liveFailures(alias)}))`;
  }

  /** The row's checks in progress that still count (a lost one is forgotten). */
  private liveChecking(alias: string): Prisma.Sql {
    const t = Prisma.raw(alias);
    return Prisma.sql`(CASE WHEN ${t}.checking_since > now() - make_interval(secs => ${this.rules.staleCheckSeconds})
                            THEN ${t}.checking ELSE 0 END)`;
  }

  /** The row's failures that still count (a run is forgotten a window after its latest). */
  private liveFailures(alias: string): Prisma.Sql {
    const t = Prisma.raw(alias);
    return Prisma.sql`(CASE WHEN ${t}.last_failure_at > now() - make_interval(secs => ${this.rules.failureWindowSeconds})
                            THEN ${t}.failures ELSE 0 END)`;
  }

  /** The Refusal columns of the row `alias` (nulls, for no row, read as no refusal). */
  private refusalOf(alias: string): Prisma.Sql {
    const t = Prisma.raw(alias);
    return Prisma.sql`
      COALESCE(GREATEST(0, EXTRACT(EPOCH FROM ${t}.locked_until - clock_timestamp()) * 1000), 0)
        ::float8 AS "lockedMs",
      COALESCE(${t}.locked_until > clock_timestamp()
               OR ${this.liveFailures(alias)} >= ${this.rules.maxFailures},
               false) AS "atLimit"`;
  }

  /** Gives back a place among the checks in progress. */
  async release(key: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE login_throttle SET checking = GREATEST(checking - 1, 0) WHERE key = ${key}`;
  }

  /**
   * Gives back the place and counts a failure; from `maxFailures` on, the key is locked, for
   * longer with each failure (and says whether it now is). One statement, so no attempt is
   * admitted between the count and the lock. (The admission that took the place already forgot a
   * run past its window.)
   */
  async recordFailure(key: string): Promise<{ locked: boolean }> {
    const { maxFailures, lockBaseSeconds, lockCapSeconds, failureWindowSeconds } = this.rules;
    const [row] = await this.prisma.$queryRaw<{ locked: boolean }[]>`
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
      WHERE key = ${key}
      RETURNING COALESCE(locked_until > now(), false) AS locked`;
    return row ?? { locked: false };
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
   * The outer condition is checked again on a row an admission renewed while the statement ran
   * (READ COMMITTED re-checks only the outer query's conditions): its place must not vanish.
   */
  async deleteExpired(batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM login_throttle WHERE key IN (
          SELECT key FROM login_throttle WHERE expires_at <= now() LIMIT ${batchSize})
          AND expires_at <= now()`;
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
