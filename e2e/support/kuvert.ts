import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { buildApp } from '../../packages/server/src/app.js';
import { loadConfig } from '../../packages/server/src/config.js';
import { type Runtime, startRuntime } from '../../packages/server/src/runtime.js';
import { createTestDatabase } from '../../packages/server/test/support/database.js';
import { freePort } from '../../packages/server/test/support/ports.js';
import { launchChromium } from './chromium.js';

export interface E2eKuvert {
  runtime: Runtime;
  app: FastifyInstance;
  browser: Browser;
  /** http://localhost:<port>: a secure context for the browser, so WebAuthn works too. */
  publicUrl: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  /** Browser, server, runtime and data directory, in that order. */
  close(): Promise<void>;
}

/**
 * A real Kuvert for an end-to-end test: its own database copy and data directory, listening
 * on loopback, and Debian's Chromium. `env` adds settings (it may start peers such as the eID
 * simulator, which need the public URL); `prepare` writes data before the server listens.
 */
export async function startE2eKuvert(options: {
  name: string;
  env?: (publicUrl: string) => Record<string, string> | Promise<Record<string, string>>;
  prepare?: (runtime: Runtime) => Promise<void>;
}): Promise<E2eKuvert> {
  const port = await freePort();
  const publicUrl = `http://localhost:${port}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), `kuvert-e2e-${options.name}-`));
  const databaseUrl = await createTestDatabase();
  const config = loadConfig({
    KUVERT_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    KUVERT_PUBLIC_URL: publicUrl,
    KUVERT_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(await options.env?.(publicUrl)),
  });
  const runtime = await startRuntime(config, { databaseUrl, log: pino({ level: 'silent' }) });
  await options.prepare?.(runtime);
  const app = await buildApp(runtime.context);
  await app.listen({ port, host: '127.0.0.1' });
  const browser = await launchChromium();
  return {
    runtime,
    app,
    browser,
    publicUrl,
    port,
    dataDir,
    databaseUrl,
    async close() {
      await browser.close();
      await app.close();
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
