import type { Prisma } from '../generated/prisma/client';
import type { PrismaService } from './prisma.service';

/**
 * A database handle: the client, or the transaction a service opened. Repositories take one as
 * their last argument, so a service can make several of their operations one transaction.
 */
export type Db = Prisma.TransactionClient | PrismaService;
