import { Client } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { applyMigrations } from '../../src/database/schema-engine/migrations';
import { clusterTempDir } from '../support/temp-dir';
import { databaseUrl, TEST_ENV } from './test-database-env';

declare global {
  var __AUTH_TEST_POSTGRES__: { server?: EmbeddedPostgresServer; dataDir?: string } | undefined;
}

/**
 * Once per run: a PostgreSQL server (TEST_DATABASE_URL, or an embedded one in a temporary
 * directory), and a template database migrated with the real migrations. Every test file then
 * clones the template (CREATE DATABASE … TEMPLATE …), which takes milliseconds.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dataDir = clusterTempDir('auth-service-test-');
    const server = await EmbeddedPostgresServer.start({ dataDir, database: 'postgres' });
    globalThis.__AUTH_TEST_POSTGRES__ = { server, dataDir };
    serverUrl = server.url;
  }

  const prefix = `auth_test_${process.pid}_`;
  const template = `${prefix}template`;
  const admin = new Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${template}"`);
    await admin.query(`CREATE DATABASE "${template}"`);
  } finally {
    await admin.end();
  }
  await applyMigrations(databaseUrl(serverUrl, template));

  process.env[TEST_ENV.serverUrl] = serverUrl;
  process.env[TEST_ENV.templateDatabase] = template;
  process.env[TEST_ENV.databasePrefix] = prefix;
  const where = process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'embedded PostgreSQL';
  process.stdout.write(`\ne2e: ${where}, template migrated in ${Date.now() - started} ms\n`);
}
