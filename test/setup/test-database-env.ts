/**
 * How the e2e global setup tells the test files where their databases come from, through
 * environment variables (the only channel from jest's global setup to its workers).
 */
export const TEST_ENV = {
  /** Connection string of the server (any database on it); set by global setup. */
  serverUrl: 'AUTH_TEST_SERVER_URL',
  /** Migrated database every test file clones. */
  templateDatabase: 'AUTH_TEST_TEMPLATE_DATABASE',
  /** Prefix of the databases this run creates. */
  databasePrefix: 'AUTH_TEST_DATABASE_PREFIX',
} as const;

export function testEnv(name: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[name]];
  if (!value) throw new Error(`${TEST_ENV[name]} is not set: run the e2e tests through jest`);
  return value;
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}
