import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { databaseUrl, testEnv } from './test-database-env';

/** Drops what this run created (leftovers of crashed files too) and stops the embedded server. */
export default async function globalTeardown(): Promise<void> {
  const admin = new Client({ connectionString: databaseUrl(testEnv('serverUrl'), 'postgres') });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [testEnv('databasePrefix')],
    );
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
  const embedded = globalThis.__AUTH_TEST_POSTGRES__;
  await embedded?.server?.stop();
  if (embedded?.dataDir) await rm(embedded.dataDir, { recursive: true, force: true });
}
