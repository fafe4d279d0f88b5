import { Prisma } from '../generated/prisma/client';
import {
  isDatabaseUnavailableError,
  isRecordNotFound,
  isUniqueConstraintViolation,
  PrismaErrorCode,
} from './prisma-errors';

const known = (code: string, cause?: object) =>
  new Prisma.PrismaClientKnownRequestError('failed', {
    code,
    clientVersion: 'test',
    meta: cause ? { driverAdapterError: { cause } } : undefined,
  });

describe('Prisma error classification', () => {
  it.each([
    ['unreachable (P1001)', known(PrismaErrorCode.DatabaseUnreachable)],
    ['pool timeout (P2024)', known(PrismaErrorCode.ConnectionPoolTimeout)],
    ['transaction timeout (P2028)', known(PrismaErrorCode.TransactionApiError)],
    ['schema not migrated yet (P2021)', known(PrismaErrorCode.TableDoesNotExist)],
    ['statement timeout (57014)', known('P2010', { kind: 'postgres', originalCode: '57014' })],
    ['restart (57P01)', known('P2010', { kind: 'postgres', originalCode: '57P01' })],
    ['connection closed', known('P2010', { kind: 'ConnectionClosed' })],
    ['pg pool wait', new Error('timeout exceeded when trying to connect')],
    ['socket refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['engine code', Object.assign(new Error('cannot reach'), { code: 'P1001' })],
    ['schema engine, no code', new Error("Can't reach database server at `127.0.0.1:5999`")],
    ['the Unix socket of a stopped server', known('ENOENT')],
    [
      'node-postgres, no socket',
      Object.assign(new Error('connect ENOENT /tmp/x/.s.PGSQL.5432'), {
        code: 'ENOENT',
        syscall: 'connect',
      }),
    ],
    ['node-postgres, restart', Object.assign(new Error('terminating'), { code: '57P01' })],
    ['node-postgres, not migrated', Object.assign(new Error('no relation'), { code: '42P01' })],
  ])('treats %s as the database being unavailable', (_label, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', known(PrismaErrorCode.UniqueConstraintViolation)],
    ['a missing record', known(PrismaErrorCode.RecordNotFound)],
    ['a bug', new TypeError('x is undefined')],
    [
      'a missing file',
      Object.assign(new Error('no such file'), { code: 'ENOENT', syscall: 'open' }),
    ],
    ['node-postgres, a syntax error', Object.assign(new Error('syntax'), { code: '42601' })],
    ['a non-error', 'boom'],
  ])('does not treat %s as unavailability', (_label, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(false);
  });

  it('names unique violations and missing records', () => {
    expect(isUniqueConstraintViolation(known('P2002'))).toBe(true);
    expect(isUniqueConstraintViolation(known('P2025'))).toBe(false);
    expect(isRecordNotFound(known('P2025'))).toBe(true);
  });
});
