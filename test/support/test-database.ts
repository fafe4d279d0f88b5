import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, testEnv } from '../setup/test-database-env';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL on this database (for assertions that look under the API). */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: databaseUrl(testEnv('serverUrl'), 'postgres') });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** A fresh, migrated database of this test file's own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${testEnv('databasePrefix')}${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${testEnv('templateDatabase')}"`);
        return;
      } catch (error) {
        // 55006: another worker is cloning the template at this instant.
        if ((error as { code?: string }).code !== '55006' || attempt > 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  });
  const url = databaseUrl(testEnv('serverUrl'), name);
  let client: Client | undefined;
  return {
    name,
    url,
    async query<T extends object>(sql: string, params?: unknown[]): Promise<T[]> {
      if (!client) {
        client = new Client({ connectionString: url });
        await client.connect();
      }
      return (await client.query<T>(sql, params)).rows;
    },
    async drop() {
      await client?.end();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
