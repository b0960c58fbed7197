import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '@kuvert/server/config';
import {
  connectDatabase,
  type Db,
  migrateToLatest,
  pingDatabase,
} from '@kuvert/server/db/database';
import { startEmbeddedPostgres } from '@kuvert/server/db/embedded-postgres';
import { loadMasterKeys, type MasterKeys } from '@kuvert/server/documents/master-keys';

export interface AdminContext {
  config: Readonly<Config>;
  db: Db;
}

/**
 * Give an admin command the database. With DATABASE_URL, that server. Otherwise the embedded
 * cluster: if `kuvert start` is running, connect to it; if not, start it for this command.
 */
export async function withAdminContext<T>(
  config: Readonly<Config>,
  run: (context: AdminContext) => Promise<T>,
): Promise<T> {
  let stopEmbedded: (() => Promise<void>) | undefined;
  let url = config.DATABASE_URL ?? (await runningEmbeddedUrl(config));
  if (!url) {
    const embedded = await startEmbeddedPostgres({
      dir: path.join(config.dataDir, 'postgres'),
      port: config.KUVERT_EMBEDDED_PG_PORT,
    });
    stopEmbedded = embedded.stop;
    url = embedded.url;
  }
  const db = connectDatabase(url, { maxConnections: 2 });
  try {
    await migrateToLatest(db);
    return await run({ config, db });
  } finally {
    await db.destroy();
    await stopEmbedded?.();
  }
}

/**
 * The server's master keys, for a command that seals or looks up data with them. Never
 * creates them (only `kuvert start` does): a missing key file is refused, naming the file,
 * before the command touches the database, so a refused command writes nothing.
 */
export async function withAdminKeys<T>(
  config: Readonly<Config>,
  run: (context: AdminContext & { keys: MasterKeys }) => Promise<T>,
): Promise<T> {
  const keys = await loadMasterKeys({
    dataDir: config.dataDir,
    fromEnv: config.KUVERT_MASTER_KEYS,
  });
  return withAdminContext(config, (context) => run({ ...context, keys }));
}

/** The embedded cluster of a running `kuvert start`, if there is one. */
export async function runningEmbeddedUrl(config: Readonly<Config>): Promise<string | undefined> {
  const passwordFile = path.join(config.dataDir, 'postgres', 'password');
  if (!existsSync(passwordFile)) return undefined;
  const password = readFileSync(passwordFile, 'utf8').trim();
  const url = `postgres://kuvert:${encodeURIComponent(password)}@127.0.0.1:${config.KUVERT_EMBEDDED_PG_PORT}/kuvert`;
  const probe = connectDatabase(url, { maxConnections: 1 });
  try {
    await pingDatabase(probe);
    return url;
  } catch {
    return undefined;
  } finally {
    await probe.destroy();
  }
}
