import { within } from './auth';
import type { TestApp } from './test-app';

/**
 * Waits until at least `count` of the test database's backends are waiting on a lock (those
 * running a statement containing `statement`, when given): how a race test knows that a request
 * has reached the lock the test holds, before it lets go.
 */
export function untilWaitingOnLocks(t: TestApp, count: number, statement = ''): Promise<number> {
  return within(5_000, async () => {
    const [{ n }] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
      [`%${statement}%`],
    );
    return n >= count;
  });
}
