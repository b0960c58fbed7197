import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { keyFilePath } from '@kuvert/server/documents/master-keys';
import { generateSyntheticNationalId } from '@kuvert/server/mailboxes/national-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../server/test/support/database.js';
import { freePort } from '../../server/test/support/ports.js';

// The `kuvert` command as a person runs it: a child process through the package's bin
// launcher, on embedded PostgreSQL (DATABASE_URL removed), in a data directory of its own.

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const launcher = path.join(repoRoot, 'packages/cli/bin/kuvert.mjs');

let dataDir: string;
let env: NodeJS.ProcessEnv;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function kuvert(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [launcher, ...args],
      { cwd: repoRoot, env: { ...env, ...extraEnv } },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        resolve({
          code: failure ? (failure.code ?? null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** `kuvert start` as from a terminal: the leader of its own process group. */
function startInOwnProcessGroup(extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [launcher, 'start'], {
    cwd: repoRoot,
    env: { ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Finished>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const started = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (stdout.includes('Stop with Ctrl-C.')) resolve(stdout);
    });
    void exited.then((done) =>
      reject(new Error(`kuvert start exited (${done.code}): ${done.stderr}`)),
    );
  });
  return { child, started, exited };
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
function errorLogLines(output: string): string[] {
  const lines = output.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50;
    } catch {
      return false;
    }
  });
  // The message and error of each, enough to see what went wrong.
  return lines.map((line) => {
    const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return `${msg}: ${err?.message ?? ''}`;
  });
}

/** An address of this machine that is not loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
}

function refusesConnection(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

let postgresPort: number;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-cli-'));
  await chmod(dataDir, 0o755); // the embedded cluster runs as `postgres` when we are root
  postgresPort = await freePort();
  const inherited = Object.entries(process.env).filter(
    ([name]) =>
      !['DATABASE_URL', 'NODE_OPTIONS', 'HOST'].includes(name) && !name.startsWith('VITEST'),
  );
  env = {
    ...Object.fromEntries(inherited),
    KUVERT_ENV: 'development',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_EMBEDDED_PG_PORT: String(postgresPort),
    KUVERT_PDF_THREADS: '1',
    LOG_LEVEL: 'info',
    NO_COLOR: '1',
  };
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('npx kuvert', () => {
  it('runs from the repository root (the bin entry is a launcher, not a .ts file)', async () => {
    const help = await new Promise<Finished>((resolve) =>
      execFile(
        'npx',
        ['--no', '--', 'kuvert', '--help'],
        { cwd: repoRoot, env },
        (error, stdout, stderr) =>
          resolve({
            code: error ? ((error as { code?: number }).code ?? 1) : 0,
            signal: null,
            stdout,
            stderr,
          }),
      ),
    );
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: kuvert <command>/);
    expect(help.code).toBe(0);
  });
});

// One data directory through a newcomer's first steps, in order.
describe('kuvert on embedded PostgreSQL', () => {
  it('mailbox create before the first start refuses, names the key file, and writes nothing', async () => {
    const result = await kuvert(
      [
        'mailbox',
        'create',
        '--national-id',
        generateSyntheticNationalId(),
        '--email',
        'early@recipients.test',
      ],
      { KUVERT_NEW_PASSWORD: 'a quiet lantern by the harbour' },
    );
    expect(result.stderr).toContain(keyFilePath(dataDir));
    expect(result.stderr).toContain('kuvert start');
    expect(result.code).toBe(1);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("worker without the server's keys refuses too, before it touches the database", async () => {
    const result = await kuvert(['worker'], { DATABASE_URL: await createTestDatabase() });
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(keyFilePath(dataDir)),
    ]);
    expect(result.code).toBe(1);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('exits non-zero after an error, and sender and migrate make no keys', async () => {
    const revoke = await kuvert(['sender', 'revoke-key', '--key-id', 'no-such-key']);
    expect(revoke.stderr).toMatch(/no-such-key|not found|No .*key/i);
    expect(revoke.code).toBe(1);
    const migrate = await kuvert(['migrate']);
    expect(migrate.stdout).toContain('latest migration');
    expect(migrate.code).toBe(0);
    expect(existsSync(keyFilePath(dataDir))).toBe(false);
  });

  it('start: Ctrl-C to its process group stops it cleanly, on loopback only, exit 0', async () => {
    const port = await freePort();
    const server = startInOwnProcessGroup({ PORT: String(port) });
    let done: Finished;
    try {
      const welcome = await server.started;
      // Outside production it listens on loopback only, the mail sink included.
      const sinkPort = Number(/SMTP on 127\.0\.0\.1:(\d+)/.exec(welcome)?.[1]);
      expect(sinkPort).toBeGreaterThan(0);
      const lanAddress = nonLoopbackAddress();
      if (lanAddress) {
        expect(await refusesConnection(lanAddress, port)).toBe(true);
        expect(await refusesConnection(lanAddress, sinkPort)).toBe(true);
      }
    } finally {
      // What a terminal does on Ctrl-C: SIGINT to every process in the foreground group.
      process.kill(-server.child.pid!, 'SIGINT');
      done = await server.exited;
    }
    expect(done.stdout).toContain(`Server listening at http://127.0.0.1:${port}`);
    expect(done.stdout).not.toMatch(/Server listening at http:\/\/(?!127\.0\.0\.1)/);
    expect(errorLogLines(done.stdout + done.stderr)).toEqual([]);
    expect(done.signal).toBeNull();
    expect(done.code).toBe(0);
    // PostgreSQL was stopped too (it removes its pid file on a clean shutdown).
    expect(existsSync(path.join(dataDir, 'postgres', 'cluster', 'postmaster.pid'))).toBe(false);
    expect(existsSync(keyFilePath(dataDir))).toBe(true);
  });

  it('mailbox create works once start has made the keys', async () => {
    const result = await kuvert(
      [
        'mailbox',
        'create',
        '--national-id',
        generateSyntheticNationalId(),
        '--email',
        'later@recipients.test',
      ],
      { KUVERT_NEW_PASSWORD: 'a quiet lantern by the harbour' },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toHaveProperty('mailboxId');
    expect(result.code).toBe(0);
  });

  it('start on a busy port says so in one line and exits non-zero', async () => {
    const busy: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)),
    );
    try {
      const result = await kuvert(['start'], { PORT: String(port) });
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`Port ${port} is already in use.*set PORT`)),
      ]);
      expect(result.code).toBe(1);
      expect(errorLogLines(result.stdout)).toEqual([]);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
