import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { startRuntime } from '../../src/runtime.js';
import { createTestDatabase } from './database.js';

export interface TestKuvert {
  app: FastifyInstance;
  context: AppContext;
  dataDir: string;
  databaseUrl: string;
  close(): Promise<void>;
}

export const testPublicUrl = 'https://kuvert.test';

/**
 * A complete Kuvert on a fresh database and a fresh data directory: the real app, real
 * PostgreSQL, real blob store and mail sink. Workers are off unless asked for, so tests can
 * run a job's handler directly or start the queue on purpose.
 */
export async function startTestKuvert(
  env: Record<string, string> = {},
  options: { log?: Logger } = {},
): Promise<TestKuvert> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-test-'));
  const databaseUrl = await createTestDatabase();
  const config = loadConfig({
    KUVERT_ENV: 'test',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_PUBLIC_URL: testPublicUrl,
    KUVERT_WORKERS: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const runtime = await startRuntime(config, {
    databaseUrl,
    log: options.log ?? pino({ level: config.LOG_LEVEL }),
  });
  const app = await buildApp(runtime.context);
  await app.ready();
  return {
    app,
    context: runtime.context,
    dataDir,
    databaseUrl,
    close: async () => {
      await app.close();
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
