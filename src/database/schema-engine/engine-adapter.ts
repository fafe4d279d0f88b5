import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

const CHAR_OID = 18;
const TEXT_OID = 25;

type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;

/** Reports PostgreSQL's one-byte `"char"` columns as text. */
function relabelCharColumns<T>(result: T): T {
  for (const field of (result as Partial<pg.QueryResult> | undefined)?.fields ?? []) {
    if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
}

/**
 * The engine describes a database from pg_catalog, whose `"char"` columns (relkind, contype, …)
 * @prisma/adapter-pg refuses as an unsupported type, so `migrate dev`, `migrate diff` and
 * `db push` fail with "Column type 'char' could not be deserialized". Their values are single
 * characters that pg already returns as strings; relabelling the column as text is all it takes.
 */
class CatalogCompatibleClient extends pg.Client {
  // pg's overloads cannot be restated in a subclass; the wrapper handles the callback and the
  // promise forms and passes anything else (submittables) through untouched.
  override query(config: unknown, values?: unknown, callback?: unknown): never {
    if (typeof values === 'function') [callback, values] = [values, undefined];
    const query = super.query.bind(this) as (...args: unknown[]) => unknown;
    if (typeof callback === 'function') {
      const done = callback as QueryCallback;
      return query(config, values, (error: Error | null, result: pg.QueryResult) =>
        done(error, relabelCharColumns(result)),
      ) as never;
    }
    const pending = query(config, values);
    return (pending instanceof Promise ? pending.then(relabelCharColumns) : pending) as never;
  }
}

/**
 * The driver-adapter factory the schema engine runs on. Compared with using `PrismaPg` as it
 * is, it (1) connects through `CatalogCompatibleClient`, (2) creates shadow databases that are
 * really separate (PrismaPg passes `{ connectionString, database }`, and pg lets the connection
 * string's database win, so its "shadow" pool would reach the main database) and drops them only
 * after their pool has closed, and (3) remembers every adapter so `disposeAll()` closes them.
 */
export class SchemaEngineAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly config: pg.PoolConfig;
  private readonly adapters: SqlDriverAdapter[] = [];

  constructor(url: string) {
    this.config = {
      ...parseIntoClientConfig(url),
      Client: CatalogCompatibleClient,
      max: 2,
      connectionTimeoutMillis: 5_000,
    };
  }

  async connect(): Promise<SqlDriverAdapter> {
    return this.track(await new PrismaPg(this.config).connect());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = await new PrismaPg(this.config).connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.config, database }).connect();
    const dispose = async () => {
      await shadow.dispose();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      await admin.dispose();
    };
    return this.track(Object.assign(Object.create(shadow) as SqlDriverAdapter, { dispose }));
  }

  async disposeAll(): Promise<void> {
    const adapters = this.adapters.splice(0);
    await Promise.allSettled(adapters.map((adapter) => adapter.dispose()));
  }

  private track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    this.adapters.push(adapter);
    return adapter;
  }
}
