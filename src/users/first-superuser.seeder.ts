import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { PasswordHasher } from '../auth/passwords/password-hasher';
import { AppConfig } from '../config/app-config';
import { DatabaseSchemaService } from '../database/database-schema.service';
import { UsersRepository } from './users.repository';

export interface SeedResult {
  email: string;
  created: boolean;
  /** Set only when this run created the user with a generated password. */
  generatedPassword?: string;
}

/** 32 bytes from the operating system's CSPRNG, base64url: Python's secrets.token_urlsafe(32). */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The one line the seed prints, on stdout and not through the logger, so the generated password
 * is shown once and never stored in logs.
 */
export function printGeneratedPassword(
  result: SeedResult,
  out: NodeJS.WritableStream = process.stdout,
): void {
  if (result.generatedPassword) out.write(`FIRST_SUPERUSER_PASSWORD=${result.generatedPassword}\n`);
}

/**
 * Creates FIRST_SUPERUSER unless a user has that email: run by `npx prisma db seed`
 * (prisma/seed.ts) and by the service itself on an empty database. Never changes an existing
 * user; of concurrent runs, one creates it and only that one has a password to print.
 */
@Injectable()
export class FirstSuperuserSeeder implements OnModuleInit {
  private readonly logger = new Logger(FirstSuperuserSeeder.name);

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly schema?: DatabaseSchemaService,
  ) {}

  onModuleInit(): void {
    this.schema?.afterMigrations(async () => {
      if ((await this.users.count()) > 0) return;
      printGeneratedPassword(await this.seed());
    });
  }

  async seed(): Promise<SeedResult> {
    const { email, password: configured } = this.config.firstSuperuser;
    if (await this.users.findByEmail(email)) return { email, created: false };

    const password = configured ?? generatePassword();
    const created = await this.users.createIfEmailFree({
      email,
      passwordHash: await this.hasher.hash(password),
      isSuperuser: true,
      isActive: true,
    });
    if (!created) return { email, created: false };
    this.logger.log(
      configured
        ? `Created first superuser ${email} with FIRST_SUPERUSER_PASSWORD`
        : `Created first superuser ${email}; its generated password is printed once on stdout`,
    );
    return { email, created: true, generatedPassword: configured ? undefined : password };
  }
}
