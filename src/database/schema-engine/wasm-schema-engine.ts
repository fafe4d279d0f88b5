import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { SchemaEngineAdapterFactory } from './engine-adapter';

export type SchemaEngine = bindings.SchemaEngine;
export type SchemaEngineLogHandler = (jsonLine: string) => void;

export interface SchemaEngineOptions {
  /** PostgreSQL connection string of the database the engine works on. */
  url: string;
  /** Prisma schema files as [path, content] pairs; only some commands need them. */
  datamodels?: [string, string][];
  /** Receives the engine's log lines (JSON, one per call). Defaults to dropping them. */
  onLog?: SchemaEngineLogHandler;
}

/** An engine together with the connections it opened, released by `close()`. */
export interface OpenSchemaEngine {
  engine: SchemaEngine;
  version: string;
  close: () => Promise<void>;
}

// @types/node 20 leaves the WebAssembly global to lib.dom; this is the part of it we use.
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let instantiated: Promise<typeof bindings> | undefined;

/**
 * Before the engine traps on a panic (a RuntimeError, "unreachable"), it hands the panic's message
 * to this global. Prisma Client installs one that throws; when it is absent, ours keeps the message.
 */
let lastPanic: string | undefined;
const panicHost = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
panicHost.PRISMA_WASM_PANIC_REGISTRY ??= {
  set_message: (message: string) => {
    lastPanic = message;
  },
};

/** The message of the last engine panic, once. */
export function takePanicMessage(): string | undefined {
  const message = lastPanic;
  lastPanic = undefined;
  return message;
}

/**
 * The engine arms timeouts (10 s around its advisory lock, for one) that outlive the work they
 * guard; left referenced, each would hold a finished process open for ten more seconds. Only the
 * timers are unref'd: while the engine works, its open connections keep the process alive.
 */
function withUnrefTimers(glue: typeof bindings): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...glue };
  for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
    imports[name] = (callback: () => void, ms: number) => setTimeout(callback, ms >>> 0).unref();
  }
  return imports;
}

/**
 * Instantiates the official WebAssembly build of Prisma's schema engine once per process.
 *
 * The package is built for bundlers (`import * as wasm from "./schema_engine_bg.wasm"`), which
 * Node cannot do without flags, so we do the bundler's part: compile the module, give it its JS
 * glue as the `./schema_engine_bg.js` import, and start it.
 */
export function loadSchemaEngineWasm(): Promise<typeof bindings> {
  instantiated ??= (async () => {
    const packageDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
    const bytes = await readFile(path.join(packageDir, 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, {
      './schema_engine_bg.js': withUnrefTimers(bindings),
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return instantiated;
}

export async function openSchemaEngine(options: SchemaEngineOptions): Promise<OpenSchemaEngine> {
  const wasm = await loadSchemaEngineWasm();
  const factory = new SchemaEngineAdapterFactory(options.url);
  const onLog = options.onLog ?? (() => undefined);
  let engine: SchemaEngine;
  try {
    engine = await wasm.SchemaEngine.new(
      { datamodels: options.datamodels },
      onLog,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
  } catch (error) {
    await factory.disposeAll();
    throw error;
  }
  return {
    engine,
    version: wasm.version(),
    close: async () => {
      engine.free();
      await factory.disposeAll();
    },
  };
}
