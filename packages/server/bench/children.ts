import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The servers under test run in child processes. Their start-up answer and every later
 * message travel over a dedicated IPC channel; their stdout and stderr (logs of the server,
 * of pino, of anything a library prints) go to a log file in the run's temporary directory.
 * So no log line can be mistaken for a message, and the bench's own output stays readable.
 *
 * Each child runs in its own process group: Ctrl-C in the terminal reaches only the bench,
 * which then stops the children in order and removes their directories (see `onExit`).
 */
export interface BenchChild<Ready> {
  pid: number;
  ready: Ready;
  /** Send a message and wait for the child's next message. */
  ask<Answer>(message: object): Promise<Answer>;
  /** SIGTERM, wait for the orderly stop (at most 30 s, then SIGKILL), remove the run directory. */
  stop(): Promise<void>;
}

type Cleanup = () => Promise<void>;
const cleanups = new Set<Cleanup>();

/** Run `cleanup` when the bench ends, however it ends (unless it is killed with SIGKILL). */
export function onExit(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export async function runCleanups(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    await cleanup().catch((error: unknown) => warn(`cleanup failed: ${String(error)}`));
  }
}

let interrupted = false;

/** True once Ctrl-C (or SIGTERM, SIGHUP) arrived: the signal handler owns the exit from then on. */
export function isInterrupted(): boolean {
  return interrupted;
}

/**
 * On Ctrl-C (SIGINT), SIGTERM or SIGHUP: stop the children in order, remove every temporary
 * directory, exit 130. A second signal leaves at once (a child whose bench is gone stops and
 * removes its data on its own).
 */
export function cleanUpOnInterrupt(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) {
        warn(`${signal} again: leaving now`);
        process.exit(130);
      }
      interrupted = true;
      warn(`${signal}: stopping the servers under test and removing their data`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}

/** A temporary directory that is removed when the bench ends, also on failure and Ctrl-C. */
export async function temporaryDirectory(prefix: string): Promise<{
  dir: string;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const remove = () => rm(dir, { recursive: true, force: true });
  const forget = onExit(remove);
  return {
    dir,
    remove: async () => {
      forget();
      await remove();
    },
  };
}

export async function startChild<Ready>(
  script: string,
  env: Record<string, string> = {},
): Promise<BenchChild<Ready>> {
  if (interrupted) throw new Error('interrupted: not starting another server');
  const run = await temporaryDirectory('kuvert-bench-');
  // The embedded cluster runs as `postgres` when we are root: it must enter this directory.
  await chmod(run.dir, 0o755);
  const logFile = path.join(run.dir, 'server.log');
  const log = await open(logFile, 'wx', 0o600);
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', new URL(script, import.meta.url).pathname],
    {
      stdio: ['ignore', log.fd, log.fd, 'ipc'],
      detached: true,
      env: { ...process.env, ...env, BENCH_RUN_DIR: run.dir },
    },
  );
  await log.close(); // the child holds its own copy of the descriptor
  // A message to a child that is gone fails here, and in `ask` below: never an uncaught error.
  child.on('error', (error) => warn(`${path.basename(script)}: ${error.message}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const name = path.basename(script);

  let logShown = false;
  const stop = async () => {
    forget();
    await stopProcess(child, exited, name);
    if (!logShown) await reportLog(name, logFile);
    await run.remove();
  };
  const forget = onExit(stop);

  const nextMessage = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: T) => {
        child.off('exit', onChildExit);
        resolve(message);
      };
      const onChildExit = async (code: number | null, signal: string | null) => {
        child.off('message', onMessage);
        const tail = await lastLines(logFile, 20);
        logShown = true;
        reject(
          new Error(`${name} exited (${signal ?? `code ${code}`}); its last log lines:\n${tail}`),
        );
      };
      child.once('message', onMessage);
      child.once('exit', onChildExit);
    });

  const ready = await nextMessage<Ready>();
  return {
    pid: child.pid!,
    ready,
    ask: <Answer>(message: object) => {
      if (!child.connected || interrupted) {
        return Promise.reject(new Error(`${name} is no longer running`));
      }
      const answer = nextMessage<Answer>();
      child.send(message);
      return answer;
    },
    stop,
  };
}

async function stopProcess(
  child: ChildProcess,
  exited: Promise<number | null>,
  name: string,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // A server that does not stop within 30 s is a finding, but must not hang the bench.
  const timer = setTimeout(() => {
    warn(`${name} did not stop within 30 s of SIGTERM; killing its process group`);
    killGroup(child.pid!, 'SIGKILL');
  }, 30_000);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(timer);
}

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Warnings and errors the server logged go to the bench's stderr, briefly, before removal. */
async function reportLog(name: string, logFile: string): Promise<void> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return;
  warn(`${name} logged ${lines.length} line(s); the first ones:`);
  for (const line of lines.slice(0, 5)) warn(`  ${readable(line).slice(0, 300)}`);
}

/** A pino line as `level 50: message (error message)`; any other line as it is. */
function readable(line: string): string {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    if (typeof entry.level !== 'number') return line;
    const error = entry.err?.message ? ` (${entry.err.message})` : '';
    return `level ${entry.level}: ${entry.msg ?? ''}${error}`;
  } catch {
    return line;
  }
}

async function lastLines(file: string, count: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .map((line) => `  ${line.slice(0, 500)}`)
    .join('\n');
}

function warn(line: string) {
  process.stderr.write(`${line}\n`);
}
