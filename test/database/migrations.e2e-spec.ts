import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/database/schema-engine/migrations';
import { databaseUrl, testEnv } from '../setup/test-database-env';
import { prisma } from '../support/run';

/** An empty database (no template): what a fresh deployment starts from. */
async function emptyDatabase(suffix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${testEnv('databasePrefix')}empty_${suffix}`;
  const admin = new Client({ connectionString: databaseUrl(testEnv('serverUrl'), 'postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    url: databaseUrl(testEnv('serverUrl'), name),
    async drop() {
      const again = new Client({ connectionString: databaseUrl(testEnv('serverUrl'), 'postgres') });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await again.end();
    },
  };
}

async function history(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished: boolean;
    }>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

async function committedMigrations() {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      migration_name: name,
      checksum: createHash('sha256')
        .update(await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql')))
        .digest('hex'),
      finished: true,
    })),
  );
}

describe('migrations on the WebAssembly schema engine', () => {
  it('applies every committed migration to an empty database, then nothing on a re-run', async () => {
    const db = await emptyDatabase('inprocess');
    try {
      const committed = await committedMigrations();
      expect(committed.length).toBeGreaterThan(0);
      expect(await applyMigrations(db.url)).toEqual(committed.map((m) => m.migration_name));
      // Recorded exactly as `prisma migrate deploy` records them: name, SHA-256, finished.
      expect(await history(db.url)).toEqual(committed);
      expect(await applyMigrations(db.url)).toEqual([]);
      expect(await history(db.url)).toEqual(committed);
    } finally {
      await db.drop();
    }
  });

  it("upgrades a database written by earlier versions: audit events outside the contract's types go", async () => {
    const db = await emptyDatabase('upgrade');
    const earlier = await mkdtemp(path.join(tmpdir(), 'auth-migrations-'));
    try {
      const upgrade = '20261123054327_audit_events_contract_types';
      const names = (await committedMigrations()).map((m) => m.migration_name);
      for (const name of names.filter((n) => n < upgrade)) {
        await cp(path.join(MIGRATIONS_DIR, name), path.join(earlier, name), { recursive: true });
      }
      await cp(
        path.join(MIGRATIONS_DIR, 'migration_lock.toml'),
        path.join(earlier, 'migration_lock.toml'),
      );
      await applyMigrations(db.url, { dir: earlier });
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query(
          `INSERT INTO audit_events (id, type, at, detail) VALUES
             (gen_random_uuid(), 'api_key_first_used', now(), '{}'),
             (gen_random_uuid(), 'api_key_created', now(), '{}')`,
        );
        expect(await applyMigrations(db.url)).toContain(upgrade);
        const { rows } = await client.query<{ type: string }>('SELECT type FROM audit_events');
        expect(rows).toEqual([{ type: 'api_key_created' }]);
      } finally {
        await client.end();
      }
    } finally {
      await rm(earlier, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('lets the Prisma CLI deploy and report the same history (`prisma migrate deploy`, `status`)', async () => {
    const db = await emptyDatabase('cli');
    try {
      const deploy = await prisma(['migrate', 'deploy'], db.url);
      expect(deploy.code).toBe(0);
      expect(deploy.stdout).toMatch(/successfully applied/);
      expect(await history(db.url)).toEqual(await committedMigrations());

      const status = await prisma(['migrate', 'status'], db.url);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/Database schema is up to date/);
    } finally {
      await db.drop();
    }
  });

  it('has committed migrations that reproduce prisma/schema.prisma exactly (no drift)', async () => {
    const diff = await prisma(
      [
        'migrate',
        'diff',
        '--from-migrations',
        'prisma/migrations',
        '--to-schema',
        'prisma/schema.prisma',
        '--exit-code',
      ],
      databaseUrl(testEnv('serverUrl'), 'postgres'),
    );
    // --exit-code: 0 means empty diff, 2 means the schema changed without a migration.
    expect({ code: diff.code, stdout: diff.stdout }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/No difference detected/),
    });
  });
});
