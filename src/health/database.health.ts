import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseSchemaService } from '../database/database-schema.service';
import { PrismaService } from '../database/prisma.service';

/** Well inside the contract's 5 s, whatever state the database is in. */
const PING_TIMEOUT_MS = 3_000;

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly schema: DatabaseSchemaService,
  ) {}

  /** Up when the database answers and the schema has been brought up to date. */
  async check(key: string) {
    const indicator = this.indicators.check(key);
    if (!this.schema.isCurrent) return indicator.down({ message: 'migrations not applied yet' });
    return indicator.attempt(() => this.prisma.ping()).withTimeout(PING_TIMEOUT_MS);
  }
}
