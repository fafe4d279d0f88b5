import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQueryable,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

const CHAR_OID = 18;
const TEXT_OID = 25;

type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;

/** Positions of the `"char"` columns of a result, keyed by its rows array. */
const charColumns = new WeakMap<object, Set<number>>();

/**
 * @prisma/adapter-pg refuses PostgreSQL's one-byte `"char"` type (OID 18), which is what
 * pg_catalog uses for relkind, contype and the like; the engine reads those columns when it
 * describes a database, so `migrate dev`, `migrate diff` and `db push` fail with "Column type 'char'
 * could not be deserialized". This client reports such columns as text, so the adapter accepts
 * them (pg already returns their values as one-character strings), and remembers where they are
 * so the adapter wrapper below can give the engine the Character type it asks for.
 */
function relabelCharColumns<T>(result: T): T {
  const fields = (result as Partial<pg.QueryResult> | undefined)?.fields;
  const rows = (result as Partial<pg.QueryResult> | undefined)?.rows;
  if (!fields || !rows) return result;
  const positions = new Set<number>();
  fields.forEach((field, index) => {
    if (field.dataTypeID !== CHAR_OID) return;
    field.dataTypeID = TEXT_OID;
    positions.add(index);
  });
  if (positions.size) charColumns.set(rows, positions);
  return result;
}

class CatalogCompatibleClient extends pg.Client {
  // pg's overloads cannot be restated in a subclass; this handles the callback and the promise
  // forms (the pool uses the first, the adapter the second) and passes submittables through.
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

/** Gives the `"char"` columns CatalogCompatibleClient found the Character type. */
function withCharacterColumns<T extends SqlQueryable>(queryable: T): T {
  const wrapped = Object.create(queryable) as T;
  wrapped.queryRaw = async (query) => {
    const result = await queryable.queryRaw(query);
    const positions = charColumns.get(result.rows);
    if (positions) {
      result.columnTypes = result.columnTypes.map((type, index) =>
        positions.has(index) ? ColumnTypeEnum.Character : type,
      );
    }
    return result;
  };
  return wrapped;
}

function engineAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const wrapped = withCharacterColumns(adapter);
  wrapped.startTransaction = async (isolationLevel) =>
    withCharacterColumns<Transaction>(await adapter.startTransaction(isolationLevel));
  return wrapped;
}

/**
 * The driver-adapter factory the schema engine runs on. Compared with using `PrismaPg` as it
 * is, it (1) lets the engine read pg_catalog (see CatalogCompatibleClient), (2) creates shadow
 * databases that are really separate (PrismaPg passes `{ connectionString, database }`, and pg
 * lets the connection string's database win, so its "shadow" pool would reach the main database)
 * and drops them only after their pool has closed, and (3) remembers every adapter so that
 * `disposeAll()` closes them.
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
    return this.track(engineAdapter(await new PrismaPg(this.config).connect()));
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = await new PrismaPg(this.config).connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = engineAdapter(await new PrismaPg({ ...this.config, database }).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      await admin.dispose();
    };
    return this.track(shadow);
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
