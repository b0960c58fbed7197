import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Value } from 'typebox/value';
import { appendStandaloneAuditEvent } from '../audit/service.js';
import { type AuthLevel, meetsLevel, parseAuthLevel } from '../auth/levels.js';
import { stepUpRequired } from '../auth/sessions.js';
import type { AppContext } from '../context.js';
import type { Db } from '../db/database.js';
import type { Letter } from '../db/schema.js';
import type { BlobStore } from '../documents/blob-store.js';
import { openDocument, sealDocument } from '../documents/envelope.js';
import { KuvertError } from '../errors.js';
import { parseNationalId } from '../mailboxes/national-id.js';
import { mailboxIdQueryFor } from '../mailboxes/service.js';
import { notifyLetterJob } from '../notifications/notify-letter.job.js';
import { assertSafeText, displaySafe, explainSchemaIssue } from '../safe-text.js';
import type { SignatureNonce } from '../senders/http-signatures.js';
import { activeSenderKeyQuery } from '../senders/service.js';
import { boundaryOf, type FormPart, parseMultipart } from './multipart.js';
import {
  documentExists,
  findDocumentForMailbox,
  findLetterBySenderMessageId,
  findLetterForMailbox,
  findLetterForSender,
  findReferencedBlobKeys,
  insertLetterOnce,
  listDocumentsForLetters,
  listLettersForMailbox,
  markLetterRead,
} from './queries.js';
import { LetterMetadata, type RecipientLetter, type SenderLetter } from './schemas.js';

export interface Submission {
  metadata: LetterMetadata;
  document: { filename: string; bytes: Buffer };
}

/** Read the two parts of a letter submission: `metadata` (JSON) then `document` (PDF). */
export function readSubmission(body: unknown, contentType: string | undefined): Submission {
  const boundary = boundaryOf(contentType);
  if (!Buffer.isBuffer(body)) {
    throw new KuvertError('bad_request', 'The request has no body: send the letter in it.');
  }
  const parts = parseMultipart(body, boundary);
  const metadataPart = parts.find((part) => part.name === 'metadata');
  const documentPart = parts.find((part) => part.name === 'document');
  if (parts.length !== 2 || !metadataPart || !documentPart) {
    throw new KuvertError(
      'validation_failed',
      'A letter has exactly two parts: metadata (JSON) and document (PDF).',
    );
  }
  return { metadata: readMetadata(metadataPart), document: readDocumentPart(documentPart) };
}

function readMetadata(part: FormPart): LetterMetadata {
  let json: unknown;
  try {
    json = JSON.parse(part.body.toString('utf8'));
  } catch {
    throw new KuvertError('validation_failed', 'The metadata part is not valid JSON.');
  }
  if (!Value.Check(LetterMetadata, json)) {
    const issues = [...Value.Errors(LetterMetadata, json)]
      .slice(0, 5)
      .map((issue) => explainSchemaIssue('metadata', issue, json));
    throw new KuvertError('validation_failed', issues.join('; '));
  }
  // A UUID is case-insensitive (RFC 9562 §4): upper and lower case are the same letter, so the
  // stored id and the idempotency hash both use the lower-case form.
  return { ...json, messageId: json.messageId.toLowerCase() };
}

function readDocumentPart(part: FormPart): Submission['document'] {
  if (part.contentType !== 'application/pdf') {
    throw new KuvertError('unsupported_media_type', 'The document part must be application/pdf.');
  }
  // The filename is shown to the recipient and never used as a path. Control and bidirectional
  // formatting characters are refused, not stripped (docs/api.md): a sender whose file names
  // carry them has a bug to hear about, and a silent rewrite would hide one that is an attack.
  // Path separators are harmless on display and are only replaced.
  const filename = part.filename ?? 'letter.pdf';
  assertSafeText('document filename', filename);
  // Cut by code points, so a character outside the BMP is never halved.
  const shown = [...filename.replace(/[/\\]/g, '_')].slice(0, 200).join('');
  return { filename: shown || 'letter.pdf', bytes: part.body };
}

/** What makes a retry "the same letter": the metadata and the exact document bytes. */
function submissionHash(submission: Submission, documentSha256: Buffer): Buffer {
  const { metadata, document } = submission;
  // The level is hashed only when it is not the default, so a retry of a letter sent before
  // levels existed still hashes as it did then.
  const level =
    metadata.authLevel && metadata.authLevel !== 'two-factor' ? [metadata.authLevel] : [];
  return createHash('sha256')
    .update(
      JSON.stringify([
        metadata.messageId,
        metadata.recipient,
        metadata.subject,
        document.filename,
        ...level,
      ]),
    )
    .update(documentSha256)
    .digest();
}

export function presentSenderLetter(
  letter: Pick<Letter, 'id' | 'message_id' | 'delivered_at' | 'notified_at' | 'read_at'>,
): SenderLetter {
  return {
    id: letter.id,
    messageId: letter.message_id,
    status: letter.read_at ? 'read' : letter.notified_at ? 'notified' : 'delivered',
    deliveredAt: letter.delivered_at.toISOString(),
    notifiedAt: letter.notified_at?.toISOString() ?? null,
    readAt: letter.read_at?.toISOString() ?? null,
  };
}

/** An earlier letter with this messageId: the same letter on a retry, a conflict otherwise. */
function replayOf(existing: Letter, hash: Buffer): SenderLetter {
  if (!existing.submission_hash.equals(hash)) {
    throw new KuvertError(
      'idempotency_conflict',
      'This messageId was used before for a letter with other content.',
    );
  }
  return presentSenderLetter(existing);
}

/** The recipient's mailbox as a query; an invalid national identity number is refused here. */
function recipientMailbox(context: AppContext, recipient: LetterMetadata['recipient']) {
  if (!('nationalId' in recipient)) return mailboxIdQueryFor({ email: recipient.email });
  const parsed = parseNationalId(recipient.nationalId, {
    acceptSynthetic: context.config.KUVERT_ACCEPT_SYNTHETIC_IDS,
  });
  if (!parsed.ok) throw new KuvertError('invalid_national_id', parsed.reason);
  return mailboxIdQueryFor({ keys: context.keys, nationalId: parsed.value });
}

/**
 * Deliver a letter: validate, find the mailbox, inspect the PDF, encrypt and store it
 * durably, then in one statement record the signature's nonce, insert the letter with its
 * document and enqueue the notification. A crash before the commit leaves at most an
 * unreferenced ciphertext blob; a replayed signature stores nothing.
 */
export async function deliverLetter(options: {
  context: AppContext;
  senderId: string;
  nonce: SignatureNonce;
  submission: Submission;
}): Promise<{ letter: SenderLetter; created: boolean }> {
  const { context, senderId, submission } = options;
  const mailbox = recipientMailbox(context, submission.metadata.recipient);
  const documentSha256 = createHash('sha256').update(submission.document.bytes).digest();
  const hash = submissionHash(submission, documentSha256);
  const letterId = randomUUID();
  const documentId = randomUUID();
  const blobKey = `documents/${documentId}`;
  // Inspection (in its own process) and encryption run side by side; the ciphertext is written
  // only once the document is accepted, so a refused document never reaches the disk.
  const [inspection, sealed] = await Promise.all([
    context.pdf.inspect(submission.document.bytes),
    Promise.resolve().then(() =>
      sealDocument({
        plaintext: submission.document.bytes,
        plaintextSha256: documentSha256,
        letterId,
        documentId,
        masterKeys: context.keys,
      }),
    ),
  ]);
  await context.blobs.put(blobKey, sealed.ciphertext);

  const letter = {
    id: letterId,
    sender_id: senderId,
    message_id: submission.metadata.messageId,
    submission_hash: hash,
    subject: submission.metadata.subject,
    delivered_at: new Date(),
    auth_level: submission.metadata.authLevel ?? 'two-factor',
  };
  let outcome: Awaited<ReturnType<typeof insertLetterOnce>>;
  try {
    outcome = await insertLetterOnce(context.db, {
      mailbox,
      activeKey: activeSenderKeyQuery(options.nonce.keyId),
      nonce: options.nonce,
      letter,
      document: {
        id: documentId,
        filename: submission.document.filename,
        content_type: 'application/pdf',
        size_bytes: submission.document.bytes.length,
        page_count: inspection.pageCount,
        sha256: sealed.sha256,
        blob_key: blobKey,
        wrapped_key: sealed.wrappedKey,
        key_version: sealed.keyVersion,
      },
      // One notification per inserted letter; the worker checks the payload's schema.
      notification: (parts) => context.queue.insertStatementFrom(notifyLetterJob, parts),
    });
  } catch (error) {
    // The statement may have committed before the connection failed: remove the ciphertext
    // only when no row refers to it. If even that cannot be checked, keep it (an orphan is
    // harmless; a letter without its document is not).
    const referenced = await documentExists(context.db, documentId).catch(() => true);
    if (!referenced) await context.blobs.delete(blobKey);
    throw error;
  }
  if (outcome.inserted) {
    return {
      letter: presentSenderLetter({ ...letter, notified_at: null, read_at: null }),
      created: true,
    };
  }
  // Nothing references the ciphertext we wrote.
  await context.blobs.delete(blobKey);
  if (!outcome.keyActive) {
    throw new KuvertError('signature_invalid', undefined, {
      logReason: `key ${options.nonce.keyId} was revoked while the letter was being received`,
    });
  }
  if (!outcome.nonceFresh) {
    throw new KuvertError('signature_invalid', undefined, {
      logReason: `replayed nonce for key ${options.nonce.keyId}`,
    });
  }
  if (!outcome.mailboxFound) throw new KuvertError('recipient_not_found');
  // The messageId was used before: a retry of that letter, or a conflict.
  const earlier = await findLetterBySenderMessageId(
    context.db,
    senderId,
    submission.metadata.messageId,
  );
  if (!earlier) throw new KuvertError('internal');
  return { letter: replayOf(earlier, hash), created: false };
}

export async function getLetterForSender(options: {
  context: AppContext;
  senderId: string;
  letterId: string;
}) {
  const letter = await findLetterForSender(options.context.db, options.senderId, options.letterId);
  if (!letter) throw new KuvertError('not_found');
  return presentSenderLetter(letter);
}

type InboxRow = Awaited<ReturnType<typeof listLettersForMailbox>>[number];
type DocumentSummary = Awaited<ReturnType<typeof listDocumentsForLetters>>[number];

/**
 * A letter as its recipient sees it. Below the letter's level the inbox still lists it (subject,
 * sender, date) with `stepUpRequired`, but not its documents.
 */
function presentRecipientLetter(
  row: InboxRow,
  documents: DocumentSummary[],
  sessionLevel: AuthLevel,
): RecipientLetter {
  const authLevel = parseLetterLevel(row.auth_level);
  const stepUp = !meetsLevel(sessionLevel, authLevel);
  return {
    id: row.id,
    // displaySafe: rows stored before the safe-text rule may still hold what it refuses now.
    subject: displaySafe(row.subject),
    sender: { name: displaySafe(row.sender_name) },
    deliveredAt: row.delivered_at.toISOString(),
    readAt: row.read_at?.toISOString() ?? null,
    authLevel,
    stepUpRequired: stepUp,
    documents: documents
      .filter((document) => !stepUp && document.letter_id === row.id)
      .map((document) => ({
        id: document.id,
        filename: displaySafe(document.filename),
        contentType: document.content_type,
        sizeBytes: document.size_bytes,
        pageCount: document.page_count,
      })),
  };
}

/** A letter's stored level; the column's check constraint allows only known ones. */
function parseLetterLevel(stored: string): AuthLevel {
  const level = parseAuthLevel(stored);
  // parseAuthLevel reads unknown as the lowest: right for sessions, wrong for a letter.
  if (level !== stored)
    throw new KuvertError('internal', undefined, { logReason: 'unknown letter level' });
  return level;
}

export async function listInbox(options: {
  context: AppContext;
  mailboxId: string;
  sessionLevel: AuthLevel;
}) {
  const { db } = options.context;
  const rows = await listLettersForMailbox(db, options.mailboxId, 500);
  const documents = await listDocumentsForLetters(
    db,
    options.mailboxId,
    rows.map((row) => row.id),
  );
  return rows.map((row) => presentRecipientLetter(row, documents, options.sessionLevel));
}

/**
 * One letter of the mailbox. Another mailbox's letter is not found by the query (404, exactly as
 * a missing id); only the owner's letter is then held against the session's level (403).
 */
export async function getLetterForMailbox(options: {
  context: AppContext;
  mailboxId: string;
  letterId: string;
  sessionLevel: AuthLevel;
}) {
  const { db } = options.context;
  const row = await findLetterForMailbox(db, options.mailboxId, options.letterId);
  if (!row) throw new KuvertError('not_found');
  assertLevel(options.sessionLevel, parseLetterLevel(row.auth_level));
  const documents = await listDocumentsForLetters(db, options.mailboxId, [row.id]);
  return presentRecipientLetter(row, documents, options.sessionLevel);
}

function assertLevel(sessionLevel: AuthLevel, letterLevel: AuthLevel): void {
  if (!meetsLevel(sessionLevel, letterLevel)) throw stepUpRequired(letterLevel);
}

/** Decrypt a document for its owner; the audit log records that the letter was opened. */
export async function readDocument(options: {
  context: AppContext;
  mailboxId: string;
  letterId: string;
  documentId: string;
  sessionLevel: AuthLevel;
}) {
  const { context } = options;
  const document = await findDocumentForMailbox(
    context.db,
    options.mailboxId,
    options.letterId,
    options.documentId,
  );
  if (!document) throw new KuvertError('not_found');
  assertLevel(options.sessionLevel, parseLetterLevel(document.letter_auth_level));
  const ciphertext = await context.blobs.get(document.blob_key);
  const plaintext = openDocument({
    ciphertext,
    wrappedKey: document.wrapped_key,
    keyVersion: document.key_version,
    sha256: document.sha256,
    letterId: document.letter_id,
    documentId: document.id,
    masterKeys: context.keys,
  });
  // Nothing else is written when a letter is opened: the entry commits on its own (with those
  // of other letters opened at the same moment), and the document is returned only once it has.
  await appendStandaloneAuditEvent(context.db, context.keys, {
    actor: `mailbox:${options.mailboxId}`,
    action: 'letter.opened',
    subject: document.letter_id,
    details: { documentId: document.id },
  });
  return { bytes: plaintext, filename: document.filename, contentType: document.content_type };
}

export async function recordLetterRead(options: {
  context: AppContext;
  mailboxId: string;
  letterId: string;
}) {
  if (!(await markLetterRead(options.context.db, options.mailboxId, options.letterId))) {
    throw new KuvertError('not_found');
  }
}

/**
 * Delete document ciphertexts that no row refers to and that are older than `olderThan`: what a
 * crash between the durable blob write and the commit leaves behind. The age keeps an ingest in
 * progress (seconds) far from the line. Returns how many were deleted.
 */
export async function sweepOrphanDocuments(options: {
  db: Db;
  blobs: BlobStore;
  log: Logger;
  olderThan: Date;
}): Promise<number> {
  const { db, blobs, log } = options;
  let deleted = 0;
  let batch: string[] = [];
  const settle = async () => {
    const referenced = await findReferencedBlobKeys(db, batch);
    for (const key of batch) {
      if (referenced.has(key)) continue;
      await blobs.delete(key);
      deleted++;
    }
    batch = [];
  };
  for await (const key of blobs.listOlderThan('documents', options.olderThan)) {
    batch.push(key);
    if (batch.length >= 500) await settle();
  }
  await settle();
  if (deleted > 0) log.info({ deleted }, 'removed unreferenced document ciphertexts');
  return deleted;
}
