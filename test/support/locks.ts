import { Client } from 'pg';
import { within } from './auth';
import type { TestApp } from './test-app';

/**
 * How many of the test database's backends are waiting on a lock (those running a statement
 * containing `statement`, when given).
 */
export async function waitingOnLocks(t: TestApp, statement = ''): Promise<number> {
  const [{ n }] = await t.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
    [`%${statement}%`],
  );
  return n;
}

/**
 * Waits until at least `count` backends are waiting on a lock (see waitingOnLocks): how a race
 * test knows that a request has reached the lock the test holds, before it lets go.
 */
export function untilWaitingOnLocks(t: TestApp, count: number, statement = ''): Promise<number> {
  return within(5_000, async () => (await waitingOnLocks(t, statement)) >= count);
}

/**
 * A connection of the test's own, in a transaction that has run `statement` and so holds its
 * locks until the test sends COMMIT (or ends the connection).
 */
export async function openTransaction(
  t: TestApp,
  statement: string,
  params: unknown[] = [],
): Promise<Client> {
  const holder = new Client({ connectionString: t.db.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(statement, params);
    return holder;
  } catch (error) {
    await holder.end();
    throw error;
  }
}
