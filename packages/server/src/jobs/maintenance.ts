import type { Logger } from 'pino';

/**
 * A piece of housekeeping owned by the room whose data it tidies (nonce pruning in senders,
 * the orphan sweep in letters). Each run must be an idempotent delete of what has expired, so
 * that several processes doing it at once only repeat each other's work.
 */
export interface MaintenanceTask {
  name: string;
  /** Run every this many minutes, and once at start. */
  everyMinutes: number;
  run(): Promise<unknown>;
}

const minuteMs = 60_000;

/** Run each task at start and then on its interval, in this process, until stopped. */
export function startMaintenance(options: { tasks: readonly MaintenanceTask[]; log: Logger }): {
  stop(): void;
} {
  let minute = 0;
  const tick = async () => {
    for (const task of options.tasks) {
      if (minute % task.everyMinutes !== 0) continue;
      try {
        await task.run();
      } catch (error) {
        options.log.warn({ err: error, task: task.name }, 'maintenance failed; will retry');
      }
    }
    minute++;
  };
  const timer = setInterval(() => void tick(), minuteMs);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
