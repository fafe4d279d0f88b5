import { Prisma } from '../generated/prisma/client';

/** The Prisma error codes the service reacts to, by name (https://pris.ly/d/error-codes). */
export const PrismaErrorCode = {
  AuthenticationFailed: 'P1000',
  DatabaseUnreachable: 'P1001',
  DatabaseTimeout: 'P1002',
  DatabaseDoesNotExist: 'P1003',
  OperationTimeout: 'P1008',
  ConnectionClosed: 'P1017',
  RawQueryFailed: 'P2010',
  TableDoesNotExist: 'P2021',
  ConnectionPoolTimeout: 'P2024',
  RecordNotFound: 'P2025',
  TransactionApiError: 'P2028',
  UniqueConstraintViolation: 'P2002',
  ForeignKeyConstraintViolation: 'P2003',
} as const;

const UNAVAILABLE_PRISMA_CODES = new Set<string>([
  PrismaErrorCode.AuthenticationFailed,
  PrismaErrorCode.DatabaseUnreachable,
  PrismaErrorCode.DatabaseTimeout,
  PrismaErrorCode.DatabaseDoesNotExist,
  PrismaErrorCode.OperationTimeout,
  PrismaErrorCode.ConnectionClosed,
  PrismaErrorCode.ConnectionPoolTimeout,
  PrismaErrorCode.TransactionApiError,
  // Until the migrations have run (the database arrived after the service started).
  PrismaErrorCode.TableDoesNotExist,
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now" rather than "wrong request": connection exceptions
 * (08), operator intervention such as a restart (57P0x) and a cancelled statement (57014: our
 * statement_timeout), insufficient resources (53) and serialization/deadlock retries (40).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|40)/;

const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);

const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

const UNAVAILABLE_MESSAGES = new RegExp(
  [
    'timeout exceeded when trying to connect',
    'Connection terminated',
    'connection timeout',
    "Can't reach database server",
    'Timed out fetching a new connection',
    'Server has closed the connection',
    'does not exist on the database server',
    'Authentication failed against database server',
    // node-postgres's query_timeout (a server that stopped answering).
    'Query read timeout',
  ].join('|'),
  'i',
);

interface AdapterCause {
  kind?: string;
  originalCode?: string;
  code?: string;
}

function adapterCause(error: Prisma.PrismaClientKnownRequestError): AdapterCause | undefined {
  const meta = error.meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined;
  return meta?.driverAdapterError?.cause;
}

/** True when the database failed us (down, restarting, slow, pool exhausted): answer 503. */
export function isDatabaseUnavailableError(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
    // The driver's socket errors pass through with their Node code (ENOENT: the Unix socket of a
    // stopped server).
    if (UNAVAILABLE_NODE_CODES.has(error.code) || error.code === 'ENOENT') return true;
    const cause = adapterCause(error);
    const sqlState = cause?.originalCode ?? cause?.code;
    return (
      (!!cause?.kind && UNAVAILABLE_ADAPTER_KINDS.has(cause.kind)) ||
      (!!sqlState && UNAVAILABLE_SQLSTATE.test(sqlState))
    );
  }
  if (
    error instanceof Prisma.PrismaClientInitializationError ||
    error instanceof Prisma.PrismaClientRustPanicError
  ) {
    return true;
  }
  // Duck-typed, not `instanceof Error`: errors raised by Node's own modules come from another
  // realm under test runners that sandbox modules (jest), and are the same errors all the same.
  if (typeof error === 'object' && error !== null) {
    const { code, syscall, message } = error as {
      code?: unknown;
      syscall?: unknown;
      message?: unknown;
    };
    if (typeof code === 'string' && (UNAVAILABLE_NODE_CODES.has(code) || /^P10\d\d$/.test(code))) {
      return true;
    }
    // Any failure to connect a socket (to the database's TCP port or Unix socket).
    if (syscall === 'connect') return true;
    // node-postgres's DatabaseError carries the SQLSTATE (used directly by the rate limiter's
    // store); 42P01, an undefined table, is a database that has not been migrated yet.
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return UNAVAILABLE_SQLSTATE.test(code) || code === '42P01';
    }
    // node-postgres's own pool and connection failures, and the schema engine's (which carry
    // Prisma's P1xxx texts but no code), are plain Errors.
    return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
  }
  return false;
}

export function isUniqueConstraintViolation(error: unknown): boolean {
  return (
    error instanceof Prisma.PrismaClientKnownRequestError &&
    error.code === PrismaErrorCode.UniqueConstraintViolation
  );
}

export function isRecordNotFound(error: unknown): boolean {
  return (
    error instanceof Prisma.PrismaClientKnownRequestError &&
    error.code === PrismaErrorCode.RecordNotFound
  );
}

/** The first non-empty line of an error's message (Prisma's start with a newline), for logs. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (
    message
      .split('\n')
      .find((line) => line.trim())
      ?.trim() ?? ''
  );
}
