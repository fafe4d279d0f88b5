import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A new temporary directory for an embedded PostgreSQL. Run as root, PostgreSQL runs as the
 * postgres user, who must be able to pass through it: mkdtemp makes it 0700, so it is opened to
 * 0711 (traverse, not list).
 */
export function clusterTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}
