/**
 * One Kuvert server in a process of its own, for tests that need several servers on one
 * database (each with its own caches and connections). Configured by the environment like
 * `kuvert start`; reports `{ port }` to the parent over IPC once it listens, and stops on
 * SIGTERM. Logs go to stderr.
 */
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startRuntime } from '../../src/runtime.js';

const config = loadConfig(process.env);
const runtime = await startRuntime(config, {
  log: pino({ level: config.LOG_LEVEL }, pino.destination(2)),
});
const app = await buildApp(runtime.context);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });

process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    await runtime.stop();
    process.disconnect?.();
  })();
});
