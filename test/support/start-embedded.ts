import { Client } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

/** Starts the embedded PostgreSQL in argv[2], queries it, stops it; prints "ok <user> <version>". */
async function main(dataDir: string): Promise<void> {
  const server = await EmbeddedPostgresServer.start({ dataDir, database: 'auth' });
  try {
    const client = new Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query<{ user: string; version: string }>(
      'SELECT current_user AS user, current_setting($1) AS version',
      ['server_version_num'],
    );
    await client.end();
    process.stdout.write(`ok ${rows[0].user} ${rows[0].version}\n`);
  } finally {
    await server.stop();
  }
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
