import { Global, Module } from '@nestjs/common';
import { DatabaseSchemaService } from './database-schema.service';
import { databaseServerProvider } from './database-server';
import { PrismaService } from './prisma.service';

/**
 * PostgreSQL for everyone: the server (DATABASE_URL or embedded), PrismaService, and the schema
 * brought up to date at start.
 */
@Global()
@Module({
  providers: [databaseServerProvider, PrismaService, DatabaseSchemaService],
  exports: [PrismaService, DatabaseSchemaService],
})
export class DatabaseModule {}
