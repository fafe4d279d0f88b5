import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * Mode for a private directory this process creates (DATA_DIR): 0700, except as root, where the
 * embedded PostgreSQL runs as the postgres user, who must be able to pass through it (0711:
 * traverse, not list; the files inside are 0600). An existing directory is the operator's to set.
 */
const privateDirectoryMode = () => (userInfo().uid === 0 ? 0o711 : 0o700);

/** Creates `dir` (and its parents) if missing, as a private directory. */
export function makePrivateDirectorySync(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; chmod is not.
  if (created) chmodSync(dir, privateDirectoryMode());
}

/** The asynchronous form of makePrivateDirectorySync. */
export async function makePrivateDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created) await chmod(dir, privateDirectoryMode());
}

/**
 * Reads `file`, creating it first with `create()` (mode 0600) if it does not exist. Creation is
 * atomic: the content is written to a temporary file that is then hard-linked into place, which
 * fails if another process got there first; so a concurrent reader never sees a half-written
 * file, and two processes starting together end up with the same content.
 */
export function readOrCreateSync(file: string, create: () => string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  makePrivateDirectorySync(path.dirname(file));
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, create(), { mode: 0o600 });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(file, 'utf8');
}

/** The asynchronous form of readOrCreateSync. */
export async function readOrCreate(file: string, create: () => string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await makePrivateDirectory(path.dirname(file));
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, create(), { mode: 0o600 });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  return readFile(file, 'utf8');
}
