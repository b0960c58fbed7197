import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/database.js';
import { backgroundJobs } from '../background.js';
import { loadConfig } from '../config.js';
import type { AppContext } from '../context.js';
import { connectDatabase, type Db, type Executor } from '../db/database.js';
import type { Language } from '../db/schema.js';
import { installProblemHandlers } from '../http/problem.js';
import type { JobDefinition, JobQueue } from '../jobs/job.js';
import { createPgBossQueue, InvalidJobPayloadError } from '../jobs/pg-boss-queue.js';
import {
  decodeEncodedWords,
  type MailSink,
  parseMessage,
  type SinkMessage,
  startMailSink,
} from './mail-sink.js';
import { createMailer, type Mailer } from './mailer.js';
import { notifyLetterJob } from './notify-letter.job.js';
import { notificationsDevRoutes } from './routes.js';
import { newLetterCatalogues, renderNewLetterEmail } from './templates.js';

const publicUrl = 'https://kuvert.test';
const languages: Language[] = ['nb', 'nn', 'en'];

let dataDir: string;
let databaseUrl: string;
let db: Db;
let sink: MailSink;
let mailer: Mailer;
let queue: JobQueue;
let context: AppContext;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-notifications-'));
  databaseUrl = await createTestDatabase();
  db = connectDatabase(databaseUrl, { maxConnections: 4 });
  const config = loadConfig({
    KUVERT_ENV: 'test',
    KUVERT_PUBLIC_URL: publicUrl,
    KUVERT_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
  });
  const log = pino({ level: 'silent' });
  sink = await startMailSink({ port: 0 });
  mailer = createMailer(config, sink);
  queue = await createPgBossQueue({ databaseUrl, log, jobs: backgroundJobs });
  // What the notification job uses; blobs, keys and pdf play no part here.
  const partial: Partial<AppContext> = { config, db, queue, mailer, mailSink: sink, log };
  context = partial as AppContext;
});

afterAll(async () => {
  await queue?.stop();
  await mailer?.close();
  await sink?.close();
  await db?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface StoredLetter {
  mailboxId: string;
  letterId: string;
  email: string | null;
  senderName: string;
  subject: string;
}

/** A sender, a mailbox and one letter, written straight to the tables. */
async function storeLetter(
  executor: Executor,
  options: { language: Language; withEmail?: boolean },
): Promise<StoredLetter> {
  const tag = randomBytes(4).toString('hex');
  const senderId = randomUUID();
  const senderName = `Skatteetaten Testavdeling ${tag}`;
  await executor.insertInto('senders').values({ id: senderId, name: senderName }).execute();
  const mailboxId = randomUUID();
  const email = options.withEmail === false ? null : `kari.nordmann.${tag}@example.no`;
  await executor
    .insertInto('mailboxes')
    .values({
      id: mailboxId,
      national_id_hash: randomBytes(32),
      national_id_sealed: randomBytes(60),
      email,
      language: options.language,
      password_hash: 'not a real hash',
      totp_secret_sealed: randomBytes(48),
    })
    .execute();
  const letterId = randomUUID();
  const subject = `Restskatt ${tag}: betal 12 345 kr innen fristen`;
  await executor
    .insertInto('letters')
    .values({
      mailbox_id: mailboxId,
      id: letterId,
      sender_id: senderId,
      message_id: randomUUID(),
      submission_hash: randomBytes(32),
      subject,
    })
    .execute();
  return { mailboxId, letterId, email, senderName, subject };
}

function mailTo(email: string | null): SinkMessage[] {
  return sink.messages().filter((message) => email !== null && message.to.includes(email));
}

async function notifiedAt(letter: StoredLetter): Promise<Date | null> {
  const row = await db
    .selectFrom('letters')
    .select('notified_at')
    .where('mailbox_id', '=', letter.mailboxId)
    .where('id', '=', letter.letterId)
    .executeTakeFirstOrThrow();
  return row.notified_at;
}

/** Every URL a reader could follow: all of them in the text, every href and src in the HTML. */
function urlsIn(message: { text: string; html: string }): string[] {
  const fromText = message.text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];
  const fromHtmlText = message.html.match(/https?:\/\/[^\s<>"')]+/g) ?? [];
  const fromAttributes = [
    ...message.html.matchAll(
      /\b(?:href|src|action|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi,
    ),
  ].map((match) => (match[1] ?? match[2] ?? match[3] ?? '').replaceAll('&amp;', '&'));
  return [...fromText, ...fromHtmlText, ...fromAttributes];
}

function letterUrl(letterId: string): string {
  return `${publicUrl}/letters/${letterId}`;
}

async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function countJobs(letterId: string): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    select count(*)::int as count from pgboss.job
    where name = ${notifyLetterJob.name} and data->>'letterId' = ${letterId}
  `.execute(db);
  return rows[0]?.count ?? 0;
}

describe('the new-letter notification job (promises 2 and 3)', () => {
  it('emails the recipient in their language, with nothing of the letter and only links to the public origin', async () => {
    const letter = await storeLetter(db, { language: 'nn' });
    await notifyLetterJob.handle(
      { mailboxId: letter.mailboxId, letterId: letter.letterId },
      context,
    );

    const received = mailTo(letter.email);
    expect(received).toHaveLength(1);
    const message = received[0]!;
    expect(message.subject).toBe(newLetterCatalogues.nn.subject);
    expect(message.headers['content-language']).toBe('nn');
    expect(message.text).toContain(newLetterCatalogues.nn.arrived);
    expect(message.text).toContain(newLetterCatalogues.nn.neverAsks);
    expect(message.html).toContain('lang="nn"');

    for (const part of [message.subject, message.text, message.html, message.raw]) {
      expect(part).not.toContain(letter.subject);
      expect(part).not.toContain(letter.senderName);
    }

    const urls = urlsIn(message);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(new URL(url).origin).toBe(publicUrl);
    expect(new Set(urls)).toEqual(new Set([letterUrl(letter.letterId)]));
    expect(message.html).not.toMatch(/<img|<script|<iframe|<link|url\(/i);

    expect(await notifiedAt(letter)).toBeInstanceOf(Date);
  });

  it('never sends as an attachment: the message is text and HTML alternatives only', async () => {
    const letter = await storeLetter(db, { language: 'nb' });
    await notifyLetterJob.handle(
      { mailboxId: letter.mailboxId, letterId: letter.letterId },
      context,
    );
    const [message] = mailTo(letter.email);
    const contentTypes = [...message!.raw.matchAll(/^content-type:\s*([^;\s]+)/gim)].map((match) =>
      match[1]!.toLowerCase(),
    );
    expect(new Set(contentTypes)).toEqual(
      new Set(['multipart/alternative', 'text/plain', 'text/html']),
    );
    expect(message!.raw).not.toMatch(/content-disposition/i);
  });

  it('sends nothing more for a letter that was already notified', async () => {
    const letter = await storeLetter(db, { language: 'en' });
    const payload = { mailboxId: letter.mailboxId, letterId: letter.letterId };
    await notifyLetterJob.handle(payload, context);
    const first = await notifiedAt(letter);
    await notifyLetterJob.handle(payload, context);
    await notifyLetterJob.handle(payload, context);
    expect(mailTo(letter.email)).toHaveLength(1);
    expect(await notifiedAt(letter)).toEqual(first);
  });

  it('skips a mailbox without an email address', async () => {
    const letter = await storeLetter(db, { language: 'nb', withEmail: false });
    const before = sink.messages().length;
    await notifyLetterJob.handle(
      { mailboxId: letter.mailboxId, letterId: letter.letterId },
      context,
    );
    expect(sink.messages()).toHaveLength(before);
    expect(await notifiedAt(letter)).toBeNull();
  });

  it('finds the letter by mailbox and letter id together (invariant 1)', async () => {
    const owner = await storeLetter(db, { language: 'nb' });
    const stranger = await storeLetter(db, { language: 'nb' });
    await notifyLetterJob.handle(
      { mailboxId: stranger.mailboxId, letterId: owner.letterId },
      context,
    );
    expect(mailTo(owner.email)).toHaveLength(0);
    expect(mailTo(stranger.email)).toHaveLength(0);
    expect(await notifiedAt(owner)).toBeNull();
  });

  it('does not announce a letter the recipient has already read', async () => {
    const letter = await storeLetter(db, { language: 'nb' });
    await db
      .updateTable('letters')
      .set({ read_at: new Date() })
      .where('mailbox_id', '=', letter.mailboxId)
      .where('id', '=', letter.letterId)
      .execute();
    await notifyLetterJob.handle(
      { mailboxId: letter.mailboxId, letterId: letter.letterId },
      context,
    );
    expect(mailTo(letter.email)).toHaveLength(0);
  });
});

describe('the notification texts', () => {
  it('has the same keys in the three catalogues, none of them empty', () => {
    const keys = Object.keys(newLetterCatalogues.nb).sort();
    for (const language of languages) {
      const catalogue = newLetterCatalogues[language];
      expect(Object.keys(catalogue).sort(), language).toEqual(keys);
      for (const [key, value] of Object.entries(catalogue)) {
        expect(value.trim(), `${language}.${key}`).not.toBe('');
      }
    }
  });

  it('renders in Bokmål, Nynorsk and English, each its own text', () => {
    const letterId = randomUUID();
    const rendered = languages.map((language) =>
      renderNewLetterEmail({ language, publicUrl, letterId }),
    );
    expect(new Set(rendered.map((email) => email.subject)).size).toBe(3);
    expect(new Set(rendered.map((email) => email.text)).size).toBe(3);
    expect(new Set(rendered.map((email) => email.html)).size).toBe(3);
    const [nb, nn, en] = rendered;
    expect(nb!.subject).toBe('Du har fått et nytt brev i Kuvert');
    expect(nn!.subject).toBe('Du har fått eit nytt brev i Kuvert');
    expect(nn!.text).toContain('ikkje');
    expect(en!.text).toContain('never asks for passwords');
  });

  it('has exactly one link, to the letter on the public origin, in text and HTML', () => {
    const letterId = randomUUID();
    for (const language of languages) {
      const email = renderNewLetterEmail({ language, publicUrl, letterId });
      expect(email.text.match(/https?:\/\//g)).toHaveLength(1);
      expect(email.text).toContain(letterUrl(letterId));
      expect(email.html.match(/<a\s/g)).toHaveLength(1);
      expect(email.html).toContain(`href="${letterUrl(letterId)}"`);
      expect(new Set(urlsIn(email))).toEqual(new Set([letterUrl(letterId)]));
    }
  });

  it('escapes the HTML and keeps the link on the origin whatever the id holds', () => {
    const email = renderNewLetterEmail({
      language: 'en',
      publicUrl: 'https://kuvert.test/',
      letterId: '"><script>alert(1)</script>/../../evil.example',
    });
    expect(email.html).not.toContain('<script>');
    for (const url of urlsIn(email)) {
      expect(new URL(url).origin).toBe(publicUrl);
      expect(new URL(url).pathname.startsWith('/letters/')).toBe(true);
    }
  });
});

describe('the job queue on pg-boss', () => {
  it('knows every registered job', () => {
    expect(backgroundJobs.map((job) => job.name)).toContain('letter.notify');
  });

  it('rejects a payload that does not match the schema, without echoing its values', async () => {
    const secretish = 'not-a-uuid-01017012345';
    const attempt = queue.enqueue(
      notifyLetterJob,
      { mailboxId: secretish, letterId: randomUUID() },
      { tx: db },
    );
    await expect(attempt).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(attempt).rejects.not.toThrow(secretish);
    await expect(
      queue.enqueue(
        notifyLetterJob,
        { mailboxId: randomUUID(), letterId: randomUUID(), extra: 'x' } as never,
        { tx: db },
      ),
    ).rejects.toBeInstanceOf(InvalidJobPayloadError);
  });

  it('enqueues inside the caller transaction: a rollback leaves no job, a commit leaves one', async () => {
    let rolledBack: StoredLetter | undefined;
    await expect(
      db.transaction().execute(async (tx) => {
        rolledBack = await storeLetter(tx, { language: 'nb' });
        await queue.enqueue(
          notifyLetterJob,
          { mailboxId: rolledBack.mailboxId, letterId: rolledBack.letterId },
          { tx },
        );
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await countJobs(rolledBack!.letterId)).toBe(0);

    const committed = await db.transaction().execute(async (tx) => {
      const letter = await storeLetter(tx, { language: 'en' });
      await queue.enqueue(
        notifyLetterJob,
        { mailboxId: letter.mailboxId, letterId: letter.letterId },
        { tx },
      );
      return letter;
    });
    expect(await countJobs(committed.letterId)).toBe(1);
  });

  it('fails only the job that threw, retries it, and logs the error but never the payload', async () => {
    const logLines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    const flakyJob: JobDefinition<ReturnType<typeof flakyPayload>> = {
      name: 'test.flaky',
      payload: flakyPayload(),
      retryLimit: 2,
      async handle(payload) {
        if (payload.fail) throw new Error('the mail server said no');
      },
    };
    const flakyQueue = await createPgBossQueue({ databaseUrl, log, jobs: [flakyJob] });
    try {
      await flakyQueue.enqueue(flakyJob, { secret: 'hunter2-failing', fail: true }, { tx: db });
      await flakyQueue.enqueue(flakyJob, { secret: 'hunter2-passing', fail: false }, { tx: db });
      await flakyQueue.work({ ...context, log });
      const states = await waitFor(async () => {
        const { rows } = await sql<{ secret: string; state: string }>`
          select data->>'secret' as secret, state from pgboss.job where name = ${flakyJob.name}
        `.execute(db);
        const bySecret = Object.fromEntries(rows.map((row) => [row.secret, row.state]));
        return bySecret['hunter2-passing'] === 'completed' &&
          bySecret['hunter2-failing'] === 'retry'
          ? bySecret
          : undefined;
      });
      expect(states).toEqual({ 'hunter2-failing': 'retry', 'hunter2-passing': 'completed' });
      const logged = logLines.join('');
      expect(logged).toContain('the mail server said no');
      expect(logged).not.toContain('hunter2');
    } finally {
      await flakyQueue.stop();
    }
  });

  it('delivers the email through the workers', async () => {
    const letter = await db.transaction().execute(async (tx) => {
      const stored = await storeLetter(tx, { language: 'en' });
      await queue.enqueue(
        notifyLetterJob,
        { mailboxId: stored.mailboxId, letterId: stored.letterId },
        { tx },
      );
      return stored;
    });
    await queue.work(context);

    const message = await waitFor(() => mailTo(letter.email)[0]);
    expect(message.subject).toBe(newLetterCatalogues.en.subject);
    expect(new Set(urlsIn(message))).toEqual(new Set([letterUrl(letter.letterId)]));
    expect(await notifiedAt(letter)).toBeInstanceOf(Date);
    const state = await waitFor(async () => {
      const { rows } = await sql<{ state: string }>`
        select state from pgboss.job where name = ${notifyLetterJob.name} and data->>'letterId' = ${letter.letterId}
      `.execute(db);
      return rows[0]?.state === 'completed' ? rows[0].state : undefined;
    });
    expect(state).toBe('completed');
  });
});

describe('the development mail sink', () => {
  it('gives back exactly what the mailer sent', async () => {
    const rendered = renderNewLetterEmail({ language: 'nn', publicUrl, letterId: randomUUID() });
    const to = `sink.${randomBytes(4).toString('hex')}@example.no`;
    await mailer.send({ to, language: 'nn', ...rendered });
    const [message] = sink.messages().filter((entry) => entry.to.includes(to));
    expect(message).toBeDefined();
    expect(message!.subject).toBe(rendered.subject);
    expect(message!.text).toBe(rendered.text);
    expect(message!.html).toBe(rendered.html);
    expect(message!.from).toBe('Kuvert <no-reply@localhost>');
    expect(message!.headers['auto-submitted']).toBe('auto-generated');
    expect(Date.parse(message!.receivedAt)).not.toBeNaN();
  });

  it('reads what nodemailer writes: encoded-word subjects, base64, quoted-printable and 7bit', async () => {
    const writer = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const subject = `Ærlig talt – ${'æøå ÆØÅ — “quoted” '.repeat(6)}😀`;
    const text = `Linje én\nLinje to = lik, med mellomrom på slutten   \n${'ø'.repeat(300)}\n`;
    const html = `<p title="a=b">${'Blåbær og multer '.repeat(20)}</p>`;
    const cases = [
      { textEncoding: 'base64' as const, text, html },
      { textEncoding: 'quoted-printable' as const, text, html },
      { text: 'plain ascii only\nsecond line\n' },
      { text, textEncoding: 'quoted-printable' as const },
    ];
    for (const options of cases) {
      const info = await writer.sendMail({
        from: '"Ærlig Avsender" <a@example.no>',
        to: 'b@example.no',
        subject,
        ...options,
      });
      const parsed = parseMessage(info.message as Buffer);
      expect(parsed.subject).toBe(subject);
      expect(parsed.from).toBe('Ærlig Avsender <a@example.no>');
      expect(parsed.text).toBe(options.text);
      expect(parsed.html).toBe(options.html ?? '');
    }
  });

  it('joins encoded-words split inside a multi-byte character (RFC 2047 §6.2)', () => {
    // "æ" is C3 A6 in UTF-8: one byte per encoded-word.
    expect(decodeEncodedWords('=?UTF-8?B?ww==?= =?UTF-8?B?pg==?= og =?iso-8859-1?Q?=F8l?=')).toBe(
      'æ og øl',
    );
    expect(decodeEncodedWords('=?utf-8?q?hei_p=C3=A5_deg?=')).toBe('hei på deg');
    expect(decodeEncodedWords('no encoding here')).toBe('no encoding here');
  });

  it('keeps only the most recent 200 messages', async () => {
    const small = await startMailSink({ port: 0 });
    const config = loadConfig({
      KUVERT_ENV: 'test',
      KUVERT_PUBLIC_URL: publicUrl,
      KUVERT_DATA_DIR: dataDir,
    });
    const sender = createMailer(config, small);
    try {
      await Promise.all(
        Array.from({ length: 205 }, (_, index) =>
          sender.send({
            to: `n${index}@example.no`,
            subject: `m${index}`,
            text: 't',
            html: '<p>t</p>',
            language: 'en',
          }),
        ),
      );
      expect(small.messages()).toHaveLength(200);
    } finally {
      await sender.close();
      await small.close();
    }
  });

  it('is shown newest first on GET /dev/mail, and answers 404 without a sink', async () => {
    const to = `dev.${randomBytes(4).toString('hex')}@example.no`;
    await mailer.send({ to, subject: 'older', text: 'a', html: '<p>a</p>', language: 'en' });
    await mailer.send({ to, subject: 'newer', text: 'b', html: '<p>b</p>', language: 'en' });

    const app = Fastify();
    installProblemHandlers(app, publicUrl);
    await app.register(notificationsDevRoutes(context));
    const withoutSink = Fastify();
    installProblemHandlers(withoutSink, publicUrl);
    await withoutSink.register(notificationsDevRoutes({ ...context, mailSink: undefined }));
    try {
      const response = await app.inject({ method: 'GET', url: '/dev/mail' });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { messages: SinkMessage[] };
      const mine = body.messages
        .filter((message) => message.to.includes(to))
        .map((message) => message.subject);
      expect(mine).toEqual(['newer', 'older']);

      const missing = await withoutSink.inject({ method: 'GET', url: '/dev/mail' });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toContain('application/problem+json');
    } finally {
      await app.close();
      await withoutSink.close();
    }
  });
});

function flakyPayload() {
  return Type.Object(
    { secret: Type.String(), fail: Type.Boolean() },
    { additionalProperties: false },
  );
}
