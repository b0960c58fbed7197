import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time from the kernel's own accounting (/proc/<pid>/stat), so that the bench can say
 * what a letter costs in CPU, not only how many pass per second: throughput on a small shared
 * machine moves with whatever else runs, CPU per letter much less.
 *
 * Times are cumulative milliseconds; a measurement is the difference of two samples.
 * Resolution is one clock tick (10 ms on Linux), so windows should be seconds long.
 */
export interface CpuTimes {
  userMs: number;
  systemMs: number;
}

interface ProcStat {
  ppid: number;
  /** This process (all its threads). */
  self: CpuTimes;
  /** Its children that exited and were waited for (recursively). */
  reapedChildren: CpuTimes;
}

const msPerTick = 1000 / clockTicksPerSecond();

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Fields of /proc/<pid>/stat (or a task's stat), or undefined when it has gone. */
function readStat(file: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = (index: number) => Number(fields[index]) * msPerTick;
  // proc(5): field 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime (here 3 fields earlier).
  return {
    ppid: Number(fields[1]),
    self: { userMs: ticks(11), systemMs: ticks(12) },
    reapedChildren: { userMs: ticks(13), systemMs: ticks(14) },
  };
}

export function parentOf(pid: number): number | undefined {
  return readStat(`/proc/${pid}/stat`)?.ppid;
}

export function isRunning(pid: number): boolean {
  return readStat(`/proc/${pid}/stat`) !== undefined;
}

/** The process `root` and every live descendant, leaving out the subtrees of `exclude`. */
function processTree(root: number, exclude: ReadonlySet<number>): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(`/proc/${pid}/stat`);
    if (!stat) continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (exclude.has(pid)) continue;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU of a process and all its descendants, including those that already exited (their time
 * is in their parent's reaped-children figures), without the subtrees of `exclude`. A child
 * that exits between two samples moves from its own figures to its parent's: nothing is lost
 * or counted twice.
 */
export function treeCpu(root: number, exclude: ReadonlySet<number> = new Set()): CpuTimes {
  const total = { userMs: 0, systemMs: 0 };
  for (const pid of processTree(root, exclude)) {
    const stat = readStat(`/proc/${pid}/stat`);
    if (!stat) continue;
    total.userMs += stat.self.userMs + stat.reapedChildren.userMs;
    total.systemMs += stat.self.systemMs + stat.reapedChildren.systemMs;
  }
  return total;
}

/** CPU of one process alone, all its threads. */
export function processCpu(pid: number): CpuTimes {
  return readStat(`/proc/${pid}/stat`)?.self ?? { userMs: 0, systemMs: 0 };
}

/** CPU of some threads of a process; a thread that has ended counts nothing. */
export function threadsCpu(pid: number, threadIds: readonly number[]): CpuTimes {
  const total = { userMs: 0, systemMs: 0 };
  for (const tid of threadIds) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    total.userMs += stat?.self.userMs ?? 0;
    total.systemMs += stat?.self.systemMs ?? 0;
  }
  return total;
}

/** CPU of a process's main thread (the Node.js event loop): the task whose id is the pid. */
export function mainThreadCpu(pid: number): CpuTimes {
  return threadsCpu(pid, [pid]);
}

/** The ids of a process's threads now. */
export function threadIds(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

export function minus(after: CpuTimes, before: CpuTimes): CpuTimes {
  return { userMs: after.userMs - before.userMs, systemMs: after.systemMs - before.systemMs };
}

export function totalMs(times: CpuTimes): number {
  return times.userMs + times.systemMs;
}

/** This process's CPU in microsecond resolution (getrusage: all threads, no children). */
export function ownCpu(): CpuTimes {
  const usage = process.cpuUsage();
  return { userMs: usage.user / 1000, systemMs: usage.system / 1000 };
}

/**
 * Named CPU meters read together before and after `work`. Each meter returns cumulative
 * times; the result holds each meter's difference over the window.
 */
export async function measureCpu<T, Name extends string>(
  meters: Record<Name, () => CpuTimes>,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: Record<Name, CpuTimes> }> {
  const names = Object.keys(meters) as Name[];
  const before = names.map((name) => meters[name]());
  const result = await work();
  const after = names.map((name) => meters[name]());
  const cpu = Object.fromEntries(
    names.map((name, index) => [name, minus(after[index]!, before[index]!)]),
  ) as Record<Name, CpuTimes>;
  return { result, cpu };
}

/**
 * Where a Node.js process's CPU went, as meters for `measureCpu`: its event-loop thread, the
 * threads started after `bootThreads` were listed (a pool of worker threads started on
 * demand), its other threads (V8's GC and compiler threads, libuv's pool for file I/O), and
 * its child processes without the subtrees of `exclude`.
 */
export function processMeters(pid: number, bootThreads: readonly number[], exclude: number[] = []) {
  const boot = new Set(bootThreads);
  const excluded = new Set(exclude);
  return {
    tree: () => treeCpu(pid, excluded),
    process: () => processCpu(pid),
    main: () => mainThreadCpu(pid),
    pool: () =>
      threadsCpu(
        pid,
        threadIds(pid).filter((tid) => !boot.has(tid)),
      ),
  };
}

export interface CpuSplit {
  mainThread: CpuTimes;
  poolThreads: CpuTimes;
  otherThreads: CpuTimes;
  childProcesses: CpuTimes;
  total: CpuTimes;
}

export function splitCpu(cpu: Record<'tree' | 'process' | 'main' | 'pool', CpuTimes>): CpuSplit {
  return {
    mainThread: cpu.main,
    poolThreads: cpu.pool,
    otherThreads: atLeastZero(minus(minus(cpu.process, cpu.main), cpu.pool)),
    childProcesses: atLeastZero(minus(cpu.tree, cpu.process)),
    total: cpu.tree,
  };
}

/** A difference of figures each rounded to a clock tick can come out just below zero. */
function atLeastZero(times: CpuTimes): CpuTimes {
  return { userMs: Math.max(0, times.userMs), systemMs: Math.max(0, times.systemMs) };
}
