import { Global, Module } from '@nestjs/common';
import { CacheInvalidationBus } from './cache-invalidation-bus';
import { DatabaseSchemaService } from './database-schema.service';
import { databaseServerProvider } from './database-server';
import { PrismaService } from './prisma.service';

/**
 * PostgreSQL for everyone: the server (DATABASE_URL or embedded), PrismaService, the schema
 * brought up to date at start, and cache invalidations between instances (LISTEN/NOTIFY).
 */
@Global()
@Module({
  providers: [databaseServerProvider, PrismaService, DatabaseSchemaService, CacheInvalidationBus],
  exports: [PrismaService, DatabaseSchemaService, CacheInvalidationBus],
})
export class DatabaseModule {}
