import { existsSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { backgroundJobs, maintenanceTasks } from './background.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { connectDatabase, connectListener, type Db, migrateToLatest } from './db/database.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import { createBlobStore } from './documents/blob-store.js';
import { keyFilePath, loadMasterKeys, MasterKeyError } from './documents/master-keys.js';
import { createPdfInspector } from './documents/pdf-inspection.js';
import { loggerOptions } from './http/logger.js';
import { startMaintenance } from './jobs/maintenance.js';
import { createPgBossQueue } from './jobs/pg-boss-queue.js';
import { anyMailboxExists } from './mailboxes/queries.js';
import { startMailSink } from './notifications/mail-sink.js';
import { createMailer } from './notifications/mailer.js';
import { createSmsSink, noSmsGateway } from './notifications/sms.js';
import { loadServiceKey } from './security-page/service-key.js';
import { createSenderKeyDirectory } from './senders/key-directory.js';

export interface Runtime {
  context: AppContext;
  /** Stops everything this runtime started, in reverse order. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start what Kuvert runs on: the database (embedded unless DATABASE_URL is set), migrations,
 * keys, blob store, PDF inspection pool, job queue and mail transport.
 */
export async function startRuntime(
  config: Readonly<Config>,
  options: {
    log?: Logger;
    databaseUrl?: string;
    /**
     * Create the master key file when there is none and the database is empty (the first
     * `kuvert start`). `kuvert worker` passes false: it must use the server's keys.
     */
    createKeys?: boolean;
  } = {},
): Promise<Runtime> {
  const log = options.log ?? pino(loggerOptions(config.LOG_LEVEL));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    while (stops.length > 0) {
      const next = stops.pop()!;
      await next().catch((error: unknown) => log.error({ err: error }, 'error while stopping'));
    }
  };
  const createKeys = options.createKeys ?? true;
  // A process that may not make keys checks for them before it starts or writes anything.
  const existingKeys = createKeys
    ? undefined
    : await loadMasterKeys({ dataDir: config.dataDir, fromEnv: config.KUVERT_MASTER_KEYS });
  try {
    let databaseUrl = options.databaseUrl ?? config.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({
        dir: path.join(config.dataDir, 'postgres'),
        port: config.KUVERT_EMBEDDED_PG_PORT,
        log: (line) => log.debug({ postgres: line }),
      });
      stops.push(embedded.stop);
      databaseUrl = embedded.url;
    }
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    const keys = existingKeys ?? (await loadOrCreateKeys({ db, config }));
    // Any process with the master keys may make the service key: creation is atomic (link).
    const serviceKey = await loadServiceKey({
      dataDir: config.dataDir,
      keys,
      contact: config.KUVERT_SECURITY_CONTACT,
      publicUrl: config.KUVERT_PUBLIC_URL,
      keyFile: config.KUVERT_OPENPGP_KEY_FILE,
      keyPassphrase: config.KUVERT_OPENPGP_KEY_PASSPHRASE,
      createIfMissing: true,
    });
    const blobs = createBlobStore(config);
    if (blobs.close) stops.push(blobs.close.bind(blobs));
    const pdf = createPdfInspector({ threads: config.KUVERT_PDF_THREADS });
    stops.push(() => pdf.close());

    const mailSink =
      !config.isProduction && !config.SMTP_URL
        ? await startMailSink({ port: config.KUVERT_DEV_SMTP_PORT })
        : undefined;
    if (mailSink) stops.push(() => mailSink.close());
    const mailer = createMailer(config, mailSink);
    const smsSink = config.isProduction ? undefined : createSmsSink();
    stops.push(() => mailer.close());

    const queue = await createPgBossQueue({ databaseUrl, log, jobs: backgroundJobs });
    stops.push(() => queue.stop());

    const listenerUrl = databaseUrl; // a const, for the closure
    const senderKeys = createSenderKeyDirectory({
      db,
      connectListener: () => connectListener(listenerUrl),
      log,
    });
    stops.push(() => senderKeys.close());

    const context: AppContext = {
      config,
      db,
      blobs,
      keys,
      pdf,
      queue,
      mailer,
      mailSink,
      sms: smsSink ?? noSmsGateway,
      smsSink,
      log,
      senderKeys,
      serviceKey,
    };
    if (config.KUVERT_WORKERS) {
      await queue.work(context);
      const maintenance = startMaintenance({ tasks: maintenanceTasks(context), log });
      stops.push(async () => maintenance.stop());
    }
    return { context, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first start of a new installation makes its keys; see refuseNewKeysForOldData. */
async function loadOrCreateKeys(options: { db: Db; config: Readonly<Config> }) {
  const { config } = options;
  await refuseNewKeysForOldData(options);
  return loadMasterKeys({
    dataDir: config.dataDir,
    fromEnv: config.KUVERT_MASTER_KEYS,
    createIfMissing: true,
  });
}

/**
 * A missing key file is created on first start. If the database already holds mailboxes,
 * new keys could open none of their data and find nobody by number: a restore without the
 * key file, or the wrong KUVERT_DATA_DIR. Refuse to start instead of silently doing that.
 */
async function refuseNewKeysForOldData(options: {
  db: Db;
  config: Readonly<Config>;
}): Promise<void> {
  const { config, db } = options;
  if (config.KUVERT_MASTER_KEYS || existsSync(keyFilePath(config.dataDir))) return;
  if (await anyMailboxExists(db)) {
    throw new MasterKeyError(
      `The database holds mailboxes but there is no master key file at ${keyFilePath(config.dataDir)}. ` +
        'Restore the key file from your backup (or set KUVERT_MASTER_KEYS); new keys could not open existing data.',
    );
  }
}
