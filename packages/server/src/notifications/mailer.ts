import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import type { Language } from '../db/schema.js';
import type { MailSink } from './mail-sink.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  language: Language;
}

export interface Mailer {
  send(message: OutgoingEmail): Promise<void>;
  close(): Promise<void>;
}

type MailerConfig = Pick<
  Config,
  | 'SMTP_URL'
  | 'SMTP_FROM'
  | 'KUVERT_DKIM_DOMAIN'
  | 'KUVERT_DKIM_SELECTOR'
  | 'KUVERT_DKIM_PRIVATE_KEY'
>;

/**
 * Email over SMTP: to the development mail sink when there is one, otherwise to SMTP_URL.
 * A message is text and HTML only: the message shape has no attachments, and nodemailer is
 * told to refuse file and URL content, so a letter can never leave as an attachment
 * (promise 3).
 */
export function createMailer(
  config: Readonly<MailerConfig>,
  mailSink: MailSink | undefined,
): Mailer {
  const dkim = dkimOptions(config);
  const common = {
    pool: true as const,
    maxConnections: 3,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(dkim ? { dkim } : {}),
  };
  let transport: ReturnType<typeof nodemailer.createTransport>;
  if (mailSink) {
    // The sink is plain SMTP on loopback; it offers no STARTTLS to negotiate.
    transport = nodemailer.createTransport({
      ...common,
      host: '127.0.0.1',
      port: mailSink.port,
      secure: false,
      ignoreTLS: true,
    });
  } else if (config.SMTP_URL) {
    transport = nodemailer.createTransport({ ...common, url: config.SMTP_URL });
  } else {
    throw new Error(
      'No mail transport: set SMTP_URL (the development mail sink runs only outside production)',
    );
  }

  return {
    async send(message) {
      await transport.sendMail({
        from: config.SMTP_FROM,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: {
          'Content-Language': message.language,
          // RFC 3834: an automatic message; vacation responders should not answer it.
          'Auto-Submitted': 'auto-generated',
          'X-Auto-Response-Suppress': 'All',
        },
      });
    },
    async close() {
      transport.close();
    },
  };
}

function dkimOptions(config: Readonly<MailerConfig>) {
  if (!config.KUVERT_DKIM_DOMAIN && !config.KUVERT_DKIM_PRIVATE_KEY) return undefined;
  if (!config.KUVERT_DKIM_DOMAIN || !config.KUVERT_DKIM_PRIVATE_KEY) {
    // Half a DKIM configuration would silently send unsigned mail; refuse to start instead.
    throw new Error('KUVERT_DKIM_DOMAIN and KUVERT_DKIM_PRIVATE_KEY must be set together');
  }
  return {
    domainName: config.KUVERT_DKIM_DOMAIN,
    keySelector: config.KUVERT_DKIM_SELECTOR,
    // A PEM key in one environment line usually arrives with its newlines written as `\n`.
    privateKey: config.KUVERT_DKIM_PRIVATE_KEY.replaceAll('\\n', '\n'),
  };
}
