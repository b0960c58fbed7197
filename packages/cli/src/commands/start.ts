import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type EidSimulator, startEidSimulator } from '@kuvert/eid-simulator/simulator';
import { buildApp } from '@kuvert/server/app';
import type { Config } from '@kuvert/server/config';
import { type DemoData, ensureDemoData } from '@kuvert/server/demo';
import { startRuntime } from '@kuvert/server/runtime';
import { runningEmbeddedUrl } from '../admin-database.js';
import { StartupError } from './report-error.js';

/**
 * `kuvert start`: the database (embedded unless DATABASE_URL), migrations, workers, the
 * HTTP server, and in development the demo data and mail sink. `kuvert worker` runs the jobs
 * alone. Ctrl-C or SIGTERM stops everything cleanly, PostgreSQL included.
 */
export async function startCommand(
  configured: Readonly<Config>,
  options: { workersOnly: boolean },
): Promise<number> {
  const simulator = options.workersOnly ? undefined : await startSimulatorIfWanted(configured);
  const config = simulator ? simulator.config : configured;
  const runtime = await startRuntime(config, {
    ...(await workerDatabase(config, options.workersOnly)),
    // Only the server's first start makes master keys; a worker uses the server's.
    createKeys: !options.workersOnly,
  });
  const { context } = runtime;
  const app = options.workersOnly ? undefined : await buildApp(context);
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      context.log.info({ signal }, 'stopping');
      await app?.close();
      await simulator?.simulator.close();
      await runtime.stop();
    })();
    return stopping;
  };
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => void stop(signal).then(resolve));
    }
  });

  try {
    const demo =
      config.KUVERT_DEMO && !options.workersOnly ? await ensureDemoData(context) : undefined;
    if (app) await listen(app, config);
    if (app) printWelcome(config, demo, context.mailSink?.port, simulator?.simulator);
    else context.log.info('worker running');
  } catch (error) {
    await stop('start-up failure');
    throw error;
  }
  await stopped;
  // Everything we started is stopped; a library's stray timer must not keep the process up.
  setTimeout(() => process.exit(0), 200).unref();
  return 0;
}

/**
 * Outside production, without an eID issuer configured, the eID simulator stands in for
 * ID-porten on a loopback port, with Kuvert as its one client. It never starts in production.
 */
async function startSimulatorIfWanted(
  config: Readonly<Config>,
): Promise<{ simulator: EidSimulator; config: Readonly<Config> } | undefined> {
  if (config.isProduction || config.KUVERT_EID_ISSUER !== undefined) return undefined;
  const clientId = 'kuvert-dev';
  const clientSecret = randomBytes(24).toString('base64url');
  const simulator = await startEidSimulator({
    port: config.KUVERT_EID_SIMULATOR_PORT,
    clients: [
      { clientId, clientSecret, redirectUris: [`${config.KUVERT_PUBLIC_URL}/api/eid/callback`] },
    ],
  });
  return {
    simulator,
    config: Object.freeze({
      ...config,
      KUVERT_EID_ISSUER: simulator.issuer,
      KUVERT_EID_CLIENT_ID: clientId,
      KUVERT_EID_CLIENT_SECRET: clientSecret,
    }),
  };
}

/** Listen on HOST:PORT; a port in use is the operator's to fix, said in one line. */
async function listen(
  app: Awaited<ReturnType<typeof buildApp>>,
  config: Readonly<Config>,
): Promise<void> {
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${config.HOST}:${config.PORT}`;
    if (code === 'EADDRINUSE') {
      throw new StartupError(
        `Port ${config.PORT} is already in use (${where}): stop the other program or set PORT to a free port.`,
      );
    }
    if (code === 'EACCES') {
      throw new StartupError(
        `Not allowed to listen on ${where}: set PORT to a port above 1023 (or grant the capability).`,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new StartupError(`Cannot listen on ${where}: set HOST to an address of this machine.`);
    }
    throw error;
  }
}

/**
 * A separate worker shares the server's database: DATABASE_URL, or else the embedded cluster
 * of a running `kuvert start` (it must not start a second cluster on the same data).
 */
async function workerDatabase(config: Readonly<Config>, workersOnly: boolean) {
  if (!workersOnly || config.DATABASE_URL) return {};
  const databaseUrl = await runningEmbeddedUrl(config);
  if (!databaseUrl) {
    throw new StartupError(
      '`kuvert worker` needs DATABASE_URL, or a running `kuvert start` with the same KUVERT_DATA_DIR.',
    );
  }
  return { databaseUrl };
}

function printWelcome(
  config: Readonly<Config>,
  demo: DemoData | undefined,
  sinkPort: number | undefined,
  simulator: EidSimulator | undefined,
) {
  const url = config.KUVERT_PUBLIC_URL;
  const lines = [
    '',
    `  Kuvert is running at ${url}`,
    '',
    `  Web app            ${url}/`,
    `  OpenAPI            ${url}/api/openapi.json`,
    `  security.txt       ${url}/.well-known/security.txt`,
    `  Health             ${url}/healthz  ${url}/readyz`,
  ];
  if (sinkPort !== undefined) {
    lines.push(`  Dev mail sink      ${url}/dev/mail   (SMTP on 127.0.0.1:${sinkPort})`);
  }
  if (simulator) {
    lines.push(
      `  eID simulator      ${simulator.issuer}   (stands in for ID-porten; synthetic test persons)`,
      `  Dev SMS sink       ${url}/dev/sms`,
    );
  }
  if (demo) {
    lines.push(
      '',
      '  Demo recipient (log in with all three):',
      `    national identity number  ${demo.recipient.nationalId}`,
      `    passphrase                ${demo.recipient.password}`,
      `    TOTP secret               ${demo.recipient.totpSecret}`,
      `    (add it to an authenticator app: ${demo.recipient.otpauthUri},`,
      '     or print the current code with: npm run kuvert -- demo code)',
      '',
      '  Send a first letter as the demo sender:',
      `    npm run kuvert -- send --to ${demo.recipient.nationalId} --subject "Welcome" examples/welcome-letter.pdf`,
      '',
      `  Demo sender key: ${path.relative(process.cwd(), demo.senderKeyFile)}`,
    );
  }
  lines.push('', '  Stop with Ctrl-C.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}
