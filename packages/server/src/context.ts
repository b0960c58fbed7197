import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import type { BlobStore } from './documents/blob-store.js';
import type { MasterKeys } from './documents/master-keys.js';
import type { PdfInspector } from './documents/pdf-inspection.js';
import type { JobQueue } from './jobs/job.js';
import type { MailSink } from './notifications/mail-sink.js';
import type { Mailer } from './notifications/mailer.js';
import type { SmsSender, SmsSink } from './notifications/sms.js';
import type { ServiceKey } from './security-page/service-key.js';
import type { SenderKeyDirectory } from './senders/key-directory.js';

/** Everything a route, service or job needs, made once at start-up and passed down. */
export interface AppContext {
  config: Readonly<Config>;
  db: Db;
  blobs: BlobStore;
  keys: MasterKeys;
  pdf: PdfInspector;
  queue: JobQueue;
  mailer: Mailer;
  /** Development only: the built-in SMTP server that keeps what was sent. */
  mailSink: MailSink | undefined;
  /** Text messages (verification codes); a real gateway comes with the SMS notifications. */
  sms: SmsSender;
  /** Development only: the in-memory SMS sink behind `/dev/sms`. */
  smsSink: SmsSink | undefined;
  /** Sender keys for signature checks, cached until a revocation is heard. */
  senderKeys: SenderKeyDirectory;
  /** The service's OpenPGP key: signs security.txt, receives vulnerability reports. */
  serviceKey: ServiceKey;
  log: Logger;
}
