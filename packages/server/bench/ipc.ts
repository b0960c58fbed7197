/**
 * The child's side of the channel to the bench (see children.ts): messages over IPC, never
 * over stdout, which belongs to the logs.
 */
export function sendToBench(message: object): void {
  if (!process.send)
    throw new Error('run this script through `npm run bench` (it needs an IPC channel)');
  process.send(message);
}

export function onBenchMessage(handler: (message: { type?: string }) => void): void {
  process.on('message', (message) => handler(message as { type?: string }));
}

/**
 * Stop in order on SIGTERM from the bench, and also when the bench itself is gone (the IPC
 * channel closes), so that a killed bench leaves no server or cluster behind. SIGINT is the
 * bench's: this process runs in its own process group and never sees the terminal's.
 */
export function onStopRequested(stop: () => Promise<void>): void {
  let stopping = false;
  const once = () => {
    if (stopping) return;
    stopping = true;
    void stop()
      .catch((error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exitCode = 1;
      })
      .finally(() => process.exit());
  };
  process.on('SIGTERM', once);
  process.on('disconnect', once);
}
