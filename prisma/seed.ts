import { PasswordHasher } from '../src/auth/passwords/password-hasher';
import { loadAppConfigFromProcess } from '../src/config/app-config';
import { ConfigError } from '../src/config/config-error';
import { startDatabaseServer } from '../src/database/database-server';
import { PrismaService } from '../src/database/prisma.service';
import { applyMigrations } from '../src/database/schema-engine/migrations';
import { FirstSuperuserSeeder, printGeneratedPassword } from '../src/users/first-superuser.seeder';
import { UsersRepository } from '../src/users/users.repository';

/**
 * `npx prisma db seed` (prisma.config.ts runs this file): creates FIRST_SUPERUSER unless a user
 * has that email, and prints a generated password once, as FIRST_SUPERUSER_PASSWORD=<password>.
 * Pending migrations are applied first (as the service does at start), so it works on a new
 * database too. The same seeder runs when the service starts on an empty database.
 */
async function main(): Promise<void> {
  const config = loadAppConfigFromProcess();
  const server = await startDatabaseServer(config);
  await applyMigrations(server.url);
  const prisma = new PrismaService(server, config);
  const seeder = new FirstSuperuserSeeder(
    config,
    new UsersRepository(prisma),
    new PasswordHasher(config),
  );
  try {
    printGeneratedPassword(await seeder.seed());
  } finally {
    await prisma.$disconnect();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error);
  process.stderr.write(`seed: ${message}\n`);
  process.exit(1);
});
