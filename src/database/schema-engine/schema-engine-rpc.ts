import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type {
  CreateMigrationInput,
  CreateMigrationOutput,
  EvaluateDataLossInput,
  EvaluateDataLossOutput,
  MigrationList,
  SchemaContainer,
  SchemaFilter,
} from '@prisma/schema-engine-wasm/schema_engine_bg';
import { Client, type ClientConfig } from 'pg';
import {
  loadSchemaEngineWasm,
  openSchemaEngine,
  takePanicMessage,
  type OpenSchemaEngine,
} from './wasm-schema-engine';

/**
 * The Prisma CLI's side of its schema engine: the CLI spawns `PRISMA_SCHEMA_ENGINE_BINARY` with
 * `--datamodels <file>… --datasource <json>` and talks JSON-RPC 2.0 over stdin/stdout, one message
 * per line, reading the engine's logs as JSON lines on stderr. This serves that protocol with the
 * official WebAssembly build of the same engine, so every `prisma migrate …` and `prisma db …`
 * command runs unchanged where the native binary cannot be downloaded.
 */

interface RpcMessage {
  id: number | string;
  /** Present on requests; absent on the CLI's responses to our `print` requests. */
  method?: string;
  params?: unknown;
}

interface EngineArgs {
  datamodels: string[];
  url: string | undefined;
  version: boolean;
  cliCommand: string | undefined;
}

/** RPC method names whose WebAssembly counterpart has another name. */
const RENAMED_METHODS: Record<string, string> = { getDatabaseVersion: 'version' };

const ENGINE_METHODS = new Set([
  'applyMigrations',
  'createMigration',
  'dbExecute',
  'devDiagnostic',
  'diagnoseMigrationHistory',
  'diff',
  'ensureConnectionValidity',
  'evaluateDataLoss',
  'introspect',
  'introspectSql',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'reset',
  'schemaPush',
  'version',
]);

type Engine = OpenSchemaEngine['engine'];

/** The migration script that turns the migrations' schema into the Prisma schema, by `diff`. */
async function scriptFromMigrations(
  engine: Engine,
  params: {
    migrationsList: MigrationList;
    schema: { files: SchemaContainer[] };
    filters: SchemaFilter;
  },
): Promise<string> {
  const { stdout } = await engine.diff({
    from: { tag: 'migrations', ...params.migrationsList },
    to: { tag: 'schemaDatamodel', files: params.schema.files },
    script: true,
    exitCode: null,
    filters: params.filters,
  });
  return stdout ?? '';
}

const EMPTY_SCRIPT = /^\s*(--[^\n]*\n\s*)*$/;

/**
 * The WebAssembly engine builds a shadow database (the schema the migrations produce) only for
 * `diff`, through the adapter factory; `createMigration` and `evaluateDataLoss` ask for one it
 * cannot make ("PostgreSQL shadow DB must be provided through an external factory"). They are
 * answered here with `diff` from the migrations to the schema, which is the same computation.
 * The data-loss check itself is not available to the WebAssembly engine: `migrate dev` reports no
 * warnings, so review a migration (`--create-only`) before applying it.
 */
const EMULATED_METHODS: Record<string, (engine: Engine, params: never) => Promise<unknown>> = {
  async createMigration(engine, params: CreateMigrationInput): Promise<CreateMigrationOutput> {
    const script = await scriptFromMigrations(engine, params);
    const empty = EMPTY_SCRIPT.test(script);
    const timestamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    return {
      connectorType: 'postgresql',
      generatedMigrationName: `${timestamp}_${params.migrationName}`,
      migrationScript: empty ? (params.draft ? '-- This is an empty migration.' : null) : script,
      extension: 'sql',
    };
  },
  async evaluateDataLoss(engine, params: EvaluateDataLossInput): Promise<EvaluateDataLossOutput> {
    const script = await scriptFromMigrations(engine, params);
    const steps = script.split('\n').filter((line) => line.startsWith('-- ')).length;
    return { migrationSteps: steps, warnings: [], unexecutableSteps: [] };
  },
};

/** JSON-RPC error code the native engine uses for every user-facing failure. */
const USER_FACING_ERROR = 4466;

export function parseEngineArgs(argv: string[]): EngineArgs {
  const args: EngineArgs = {
    datamodels: [],
    url: undefined,
    version: false,
    cliCommand: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--datamodels') args.datamodels.push(argv[++i]);
    else if (arg === '--datasource') args.url = (JSON.parse(argv[++i]) as { url?: string }).url;
    else if (arg === '--version' || arg === '-V') args.version = true;
    else if (arg === 'cli') args.cliCommand = argv[++i];
    // --enabled-preview-features and --extension-types carry a value the engine does not need.
    else if (arg.startsWith('--')) i++;
  }
  return args;
}

function writeLine(stream: NodeJS.WritableStream, message: unknown): void {
  stream.write(`${JSON.stringify(message)}\n`);
}

/** Shapes an engine error the way the CLI expects from the native engine. */
export function toRpcError(error: unknown): { code: number; message: string; data: object } {
  const err = error instanceof Error ? error : new Error(String(error));
  const { code, meta } = err as Error & { code?: unknown; meta?: unknown };
  // A trap inside the module (RuntimeError: unreachable …) is the WebAssembly form of a panic.
  const isPanic = err.name === 'RuntimeError' || err.name === 'PrismaClientRustPanicError';
  const message = (isPanic && takePanicMessage()) || err.message;
  return {
    code: USER_FACING_ERROR,
    message: 'An error happened. Check the data field for details.',
    data: {
      is_panic: isPanic,
      message,
      error_code: typeof code === 'string' ? code : undefined,
      meta: meta ?? null,
      ...(isPanic && { error: { message } }),
    },
  };
}

async function serveRpc(args: EngineArgs): Promise<void> {
  if (!args.url) throw new Error('The schema engine needs a datasource url (set DATABASE_URL).');
  const url = args.url;
  // Commands that carry their schemas in the request (migrate diff) pass no --datamodels; the
  // engine then wants none at all rather than an empty list.
  const datamodels = args.datamodels.length
    ? args.datamodels.map((file): [string, string] => [file, readFileSync(file, 'utf8')])
    : undefined;
  let opened: Promise<OpenSchemaEngine> | undefined;
  const engine = () =>
    (opened ??= openSchemaEngine({
      url,
      datamodels,
      onLog: (line) => process.stderr.write(`${line}\n`),
    }));

  // The native engine prints diff output by asking the CLI to (a `print` request the CLI answers);
  // the WebAssembly engine returns it as `stdout`, so the bridge makes the request itself.
  const printed = new Map<string, () => void>();
  let prints = 0;
  const print = (content: string) =>
    new Promise<void>((resolve) => {
      const id = `bridge-print-${++prints}`;
      printed.set(id, resolve);
      writeLine(process.stdout, { jsonrpc: '2.0', id, method: 'print', params: { content } });
    });

  const handle = async ({ id, method = '', params }: RpcMessage): Promise<void> => {
    const name = RENAMED_METHODS[method] ?? method;
    if (!ENGINE_METHODS.has(name) && !EMULATED_METHODS[name]) {
      writeLine(process.stdout, {
        jsonrpc: '2.0',
        id,
        error: { code: -32601, message: `Method not found: ${method}` },
      });
      return;
    }
    try {
      const { engine: instance } = await engine();
      const emulated = EMULATED_METHODS[name] as
        ((e: Engine, p: unknown) => Promise<unknown>) | undefined;
      const call = (instance as unknown as Record<string, (p: unknown) => Promise<unknown>>)[name];
      let result = emulated
        ? await emulated(instance, params)
        : await call.call(instance, params ?? {});
      if (result && typeof result === 'object' && 'stdout' in result) {
        const { stdout, ...rest } = result as { stdout: string | null };
        if (stdout) await print(stdout);
        result = rest;
      }
      writeLine(process.stdout, { jsonrpc: '2.0', id, result: result ?? null });
    } catch (error) {
      writeLine(process.stdout, { jsonrpc: '2.0', id, error: toRpcError(error) });
    }
  };

  // Requests are answered in order, one at a time, like the native engine.
  let queue = Promise.resolve();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line) as RpcMessage;
    if (message.method === undefined) {
      printed.get(String(message.id))?.();
      printed.delete(String(message.id));
      return;
    }
    queue = queue.then(() => handle(message));
  });
  await new Promise<void>((resolve) => lines.once('close', resolve));
  await queue;
  if (opened) await (await opened).close();
}

/** Prisma error codes for connection failures, as the CLI reads them from the engine's log. */
function connectionErrorCode(error: unknown): { code: string; message: string } {
  const { code, message } = error as { code?: string; message?: string };
  switch (code) {
    case '3D000':
      return { code: 'P1003', message: message ?? 'Database does not exist' };
    case '28P01':
    case '28000':
      return { code: 'P1000', message: message ?? 'Authentication failed' };
    default:
      return { code: 'P1001', message: `Can't reach database server: ${message ?? code}` };
  }
}

async function runCliCommand(command: string, url: string | undefined): Promise<number> {
  if (!url) throw new Error('The schema engine needs a datasource url (set DATABASE_URL).');
  const target = new URL(url);
  const connect = async (config: ClientConfig, sql: string) => {
    const client = new Client({ connectionTimeoutMillis: 5_000, ...config });
    try {
      await client.connect();
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  try {
    if (command === 'can-connect-to-database') {
      await connect({ connectionString: url }, 'SELECT 1');
    } else if (command === 'create-database') {
      const database = decodeURIComponent(target.pathname.slice(1));
      const maintenance = new URL(url);
      maintenance.pathname = '/postgres';
      await connect(
        { connectionString: maintenance.toString() },
        `CREATE DATABASE "${database.replaceAll('"', '""')}"`,
      );
    } else {
      throw new Error(`Unsupported schema engine command: cli ${command}`);
    }
    return 0;
  } catch (error) {
    // The CLI skips the first stderr line and looks for the logger's ERROR record after it.
    process.stderr.write('schema-engine-wasm bridge\n');
    const { code, message } = connectionErrorCode(error);
    writeLine(process.stderr, {
      level: 'ERROR',
      target: 'schema_engine::logger',
      fields: { error_code: code, message },
    });
    return 1;
  }
}

/**
 * A panic inside an engine callback surfaces as an uncaught RuntimeError; report it the way the
 * native engine does (an ERROR log line with the panic message) and exit like it (101).
 */
function reportCrash(error: unknown): void {
  const message = takePanicMessage() ?? (error instanceof Error ? error.message : String(error));
  writeLine(process.stderr, { level: 'ERROR', fields: { message, is_panic: true } });
  process.exit(101);
}

export async function main(argv: string[]): Promise<number> {
  process.on('uncaughtException', reportCrash);
  const args = parseEngineArgs(argv);
  if (args.version) {
    const wasm = await loadSchemaEngineWasm();
    process.stdout.write(`schema-engine-cli ${wasm.version()}\n`);
    return 0;
  }
  if (args.cliCommand) return runCliCommand(args.cliCommand, args.url);
  await serveRpc(args);
  return 0;
}
