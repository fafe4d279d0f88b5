import { parseEngineArgs, toRpcError } from './schema-engine-rpc';

describe('schema-engine bridge', () => {
  it('reads the arguments the Prisma CLI passes to its engine', () => {
    expect(
      parseEngineArgs([
        '--datamodels',
        'prisma/schema.prisma',
        '--datasource',
        JSON.stringify({ url: 'postgresql://db/x', shadowDatabaseUrl: 'postgresql://db/s' }),
        '--enabled-preview-features',
        'views',
        '--extension-types',
        '{}',
      ]),
    ).toEqual({
      datamodels: ['prisma/schema.prisma'],
      url: 'postgresql://db/x',
      version: false,
      cliCommand: undefined,
    });
    expect(parseEngineArgs(['--version'])).toMatchObject({ version: true });
    expect(
      parseEngineArgs(['--datasource', '{"url":"u"}', 'cli', 'create-database']),
    ).toMatchObject({
      url: 'u',
      cliCommand: 'create-database',
    });
  });

  it('shapes engine errors like the native engine, keeping the Prisma error code', () => {
    const error = Object.assign(new Error('Database does not exist'), {
      code: 'P1003',
      meta: { db: 'x' },
    });
    expect(toRpcError(error)).toEqual({
      code: 4466,
      message: expect.any(String),
      data: {
        is_panic: false,
        message: 'Database does not exist',
        error_code: 'P1003',
        meta: { db: 'x' },
      },
    });
  });

  it('reports a WebAssembly trap as a panic', () => {
    const trap = Object.assign(new Error('unreachable'), { name: 'RuntimeError' });
    expect(toRpcError(trap).data).toMatchObject({ is_panic: true, message: 'unreachable' });
  });
});
