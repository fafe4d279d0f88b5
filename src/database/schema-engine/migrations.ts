import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MigrationList } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { openSchemaEngine, type SchemaEngineLogHandler } from './wasm-schema-engine';

/** Where `prisma migrate` keeps the history; resolved from the project root at run time. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', '..', 'prisma', 'migrations');

const LOCKFILE = 'migration_lock.toml';
const MIGRATION_FILE = 'migration.sql';

/**
 * Reads a migrations directory into the engine's input, the same way the Prisma CLI does for
 * `migrate deploy`, so both see one history and compute the same checksums.
 */
export async function readMigrationsDirectory(dir: string): Promise<MigrationList> {
  const lockfileContent = await readFile(path.join(dir, LOCKFILE), 'utf8').catch(() => null);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => ({
        path: entry.name,
        migrationFile: {
          path: MIGRATION_FILE,
          content: await readFile(path.join(dir, entry.name, MIGRATION_FILE), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
  );
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir: dir,
    lockfile: { path: LOCKFILE, content: lockfileContent },
    migrationDirectories,
    shadowDbInitScript: '',
  };
}

/**
 * Applies pending migrations, exactly as `prisma migrate deploy`: the engine takes its advisory
 * lock, checks the recorded checksums, runs what is new and records it in `_prisma_migrations`.
 * Safe to run from several instances at once.
 */
export async function applyMigrations(
  url: string,
  options: { dir?: string; onLog?: SchemaEngineLogHandler } = {},
): Promise<string[]> {
  const migrationsList = await readMigrationsDirectory(options.dir ?? MIGRATIONS_DIR);
  const { engine, close } = await openSchemaEngine({ url, onLog: options.onLog });
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList,
      filters: { externalTables: [], externalEnums: [] },
    });
    return appliedMigrationNames;
  } finally {
    await close();
  }
}
