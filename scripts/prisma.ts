import { spawn } from 'node:child_process';
import { loadDatabaseConfigFromProcess } from '../src/config/app-config';
import { ConfigError } from '../src/config/config-error';
import { EMBEDDED_DATABASE_NAME } from '../src/database/database-server';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';

/**
 * `npm run prisma -- <prisma arguments>`: the Prisma CLI (which drives the WebAssembly schema
 * engine, see prisma.config.ts) against DATABASE_URL or, when it is unset, against the embedded
 * PostgreSQL under DATA_DIR: the one the running service started, or one started for the command.
 */
async function main(args: string[]): Promise<number> {
  const database = loadDatabaseConfigFromProcess();
  const embedded = database.url
    ? undefined
    : await EmbeddedPostgresServer.start({
        dataDir: database.dataDir,
        database: EMBEDDED_DATABASE_NAME,
      });
  const url = database.url ?? embedded!.url;
  try {
    const child = spawn(process.execPath, [require.resolve('prisma/build/index.js'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: url },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    return await new Promise<number>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
    );
  } finally {
    await embedded?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  },
);
