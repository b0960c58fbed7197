import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { EmbeddedPostgresError, startEmbeddedPostgres } from './embedded-postgres.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../../..');

/** The environment of a fresh shell: no DATABASE_URL (so embedded), nothing of this vitest. */
function childEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([name]) =>
      !['DATABASE_URL', 'NODE_OPTIONS', 'FORCE_COLOR'].includes(name) && !name.startsWith('VITEST'),
  );
  return { ...Object.fromEntries(inherited), NO_COLOR: '1' };
}

/** Every process event an exit hook library could listen to. */
const processEvents = [
  'exit',
  'beforeExit',
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGBREAK',
  'uncaughtException',
  'unhandledRejection',
  'message',
] as const;

function listenerSnapshot() {
  return Object.fromEntries(
    processEvents.map((event) => [event, process.listeners(event as NodeJS.Signals)]),
  );
}

describe('embedded PostgreSQL', () => {
  it('lets a failing test fail the run (its exit code survives the cluster shutdown)', async () => {
    const result = await run(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--config',
        'packages/server/test/fixtures/failing-run.config.ts',
      ],
      { cwd: repoRoot, env: childEnv() },
    ).then(
      (done) => ({ code: 0, output: done.stdout + done.stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: error.stdout + error.stderr,
      }),
    );
    // The fixture did run (and failed for its own reason), and the run says so in its exit code.
    expect(result.output).toContain('fails on purpose');
    expect(result.output).toMatch(/Tests\s+(\S+\s+)?1 failed/);
    expect(result.code).not.toBe(0);
  });

  it('installs no exit hooks and runs in a process group of its own', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kuvert-embedded-'));
    const before = listenerSnapshot();
    const cluster = await startEmbeddedPostgres({ dir, port: await freePort() });
    try {
      const running = listenerSnapshot();
      // Nothing may turn beforeExit into an exit(0) or take over errors.
      for (const event of ['beforeExit', 'uncaughtException', 'unhandledRejection', 'message']) {
        expect(running[event], event).toEqual(before[event]);
      }
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      await client.end();

      // PostgreSQL leads its own process group, so a terminal's Ctrl-C does not reach it.
      const postmaster = await readFile(path.join(dir, 'cluster', 'postmaster.pid'), 'utf8');
      const pid = Number(postmaster.split('\n')[0]);
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      expect(processGroup).toBe(pid);
      expect(processGroup).not.toBe(process.pid);
    } finally {
      await cluster.stop();
      await cluster.stop(); // twice is harmless
    }
    // Stopped means gone, and every safety net it had is taken down again.
    expect(existsSync(path.join(dir, 'cluster', 'postmaster.pid'))).toBe(false);
    expect(listenerSnapshot()).toEqual(before);
    await rm(dir, { recursive: true, force: true });
  });

  it('names the port and the setting to change when its port is taken', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kuvert-embedded-'));
    const busy = createServer();
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as AddressInfo).port)),
    );
    try {
      const error = await startEmbeddedPostgres({ dir, port }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect((error as Error).message).toMatch(
        new RegExp(`port ${port}: it is in use\\. Set KUVERT_EMBEDDED_PG_PORT`),
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts again after the Kuvert that ran it was killed with SIGKILL', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kuvert-embedded-'));
    const port = await freePort();
    const module = path.join(import.meta.dirname, 'embedded-postgres.ts');
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startEmbeddedPostgres } = await import(${JSON.stringify(module)});
         await startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, port: ${port} });
         console.log('ready');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      holder.once('exit', () => reject(new Error('the holder exited before its cluster was up')));
    });
    holder.kill('SIGKILL'); // no handler runs: its PostgreSQL is left running, orphaned
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(path.join(dir, 'cluster', 'postmaster.pid'))).toBe(true);

    const orphan = Number(
      (await readFile(path.join(dir, 'cluster', 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    try {
      const cluster = await startEmbeddedPostgres({ dir, port });
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
      await cluster.stop();
    } finally {
      if (existsSync(`/proc/${orphan}`)) process.kill(orphan, 'SIGINT'); // never leave it behind
      await rm(dir, { recursive: true, force: true });
    }
  });
});
