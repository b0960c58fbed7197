import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Database types, kept by hand beside the migrations that create them. */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export type Language = 'nb' | 'nn' | 'en';
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256';

export interface SendersTable {
  id: string;
  name: string;
  created_at: CreatedAt;
}

export interface SenderKeysTable {
  /** The `keyid` senders put in their signatures. */
  key_id: string;
  sender_id: string;
  algorithm: SignatureAlgorithm;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
}

export interface SignatureNoncesTable {
  key_id: string;
  nonce: string;
  expires_at: Timestamp;
}

export interface MailboxesTable {
  id: string;
  /** HMAC-SHA-256 of the national identity number under the lookup key. */
  national_id_hash: Buffer;
  /** The national identity number, encrypted (envelope, see documents/crypto). */
  national_id_sealed: Buffer;
  email: string | null;
  language: Language;
  /** Null until the person sets a passphrase (a mailbox made by eID registration). */
  password_hash: string | null;
  /** Null until a TOTP enrolment is confirmed. */
  totp_secret_sealed: Buffer | null;
  /** A TOTP secret awaiting its first code; it replaces totp_secret_sealed when confirmed. */
  totp_pending_sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  totp_pending_expires_at: NullableTimestamp;
  /** Last accepted TOTP time step, so one code cannot be used twice. */
  totp_last_step: ColumnType<string | null, number | null | undefined, number | null>;
  /** The personal anti-phishing phrase, sealed (context `mailbox:<id>:anti-phishing`). */
  anti_phishing_sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  created_at: CreatedAt;
  /** Which terms the person accepted at registration, and when (null: opened by an admin). */
  terms_version: string | null;
  terms_accepted_at: NullableTimestamp;
  /** E.164; used only once `phone_verified_at` is set. */
  phone: string | null;
  phone_verified_at: NullableTimestamp;
}

export type LetterStatus = 'delivered' | 'notified' | 'read';

export interface LettersTable {
  mailbox_id: string;
  id: string;
  sender_id: string;
  message_id: string;
  /** SHA-256 over the submission (metadata and document), to tell a retry from a conflict. */
  submission_hash: Buffer;
  subject: string;
  delivered_at: CreatedAt;
  notified_at: NullableTimestamp;
  read_at: NullableTimestamp;
  /** The assurance level a session needs to read the letter (auth/levels.ts). */
  auth_level: ColumnType<string, string | undefined, never>;
}

export interface DocumentsTable {
  mailbox_id: string;
  letter_id: string;
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  page_count: number;
  /** SHA-256 of the plaintext, checked after every decryption. */
  sha256: Buffer;
  /** Where the ciphertext lives in the blob store. */
  blob_key: string;
  /** The document's data key, wrapped by the master key `key_version`. */
  wrapped_key: Buffer;
  key_version: number;
  created_at: CreatedAt;
}

export interface SessionsTable {
  /** SHA-256 of the session token: the token itself is never stored. */
  id: Buffer;
  mailbox_id: string;
  csrf_token: string;
  auth_level: string;
  user_agent: string | null;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface LoginAttemptsTable {
  id: Generated<string>;
  /** `account:<hash>` or `ip:<address>`. */
  bucket: string;
  succeeded: boolean;
  at: CreatedAt;
}

export interface RecoveryCodesTable {
  mailbox_id: string;
  /** HMAC-SHA-256 of the normalised code under the lookup key. */
  code_hash: Buffer;
  created_at: CreatedAt;
  used_at: NullableTimestamp;
}

export interface PasskeysTable {
  id: string;
  mailbox_id: string;
  /** base64url credential id. */
  credential_id: string;
  /** COSE public key. */
  public_key: Buffer;
  counter: ColumnType<string, number | undefined, number>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  name: string;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
}

export interface WebauthnChallengesTable {
  challenge: string;
  purpose: 'registration' | 'authentication';
  mailbox_id: string | null;
  client: ColumnType<string | null, string | null | undefined, string | null>;
  expires_at: Timestamp;
}

export interface AuditLogTable {
  seq: Generated<string>;
  at: CreatedAt;
  actor: string;
  action: string;
  subject: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
  prev_hash: Buffer;
  hash: Buffer;
  /** Null only on entries from before keyed chains (the legacy chain). */
  chain: number | null;
  chain_seq: string | null;
  key_version: number | null;
}

/** Each audit chain's newest entry; appending locks the chain's row. */
export interface AuditChainHeadsTable {
  chain: number;
  seq: string;
  hash: Buffer;
}

export type VulnerabilityReportStatus = 'new' | 'triaged' | 'fixed' | 'rejected';

export interface VulnerabilityReportsTable {
  id: string;
  received_at: CreatedAt;
  status: ColumnType<VulnerabilityReportStatus, VulnerabilityReportStatus | undefined>;
  /** The armored OpenPGP message the reporter's browser made; the server never has the text. */
  ciphertext: string;
}

export interface HallOfFameTable {
  id: string;
  name: string;
  year: number;
  link: string | null;
  added_at: CreatedAt;
}

/** An eID login in progress, found by the SHA-256 of the login cookie's token; used once. */
export interface EidLoginsTable {
  id: Buffer;
  state: string;
  nonce: string;
  code_verifier: string;
  level: string;
  return_to: string | null;
  session_id: Buffer | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** A person who logged in with eID and has no mailbox yet, until they accept the terms. */
export interface EidRegistrationsTable {
  id: Buffer;
  national_id_sealed: Buffer;
  level: string;
  return_to: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface ContactVerificationsTable {
  mailbox_id: string;
  channel: 'email' | 'phone';
  address: string;
  code_hash: Buffer;
  attempts: ColumnType<number, number | undefined, number>;
  expires_at: Timestamp;
}

export interface Database {
  senders: SendersTable;
  sender_keys: SenderKeysTable;
  signature_nonces: SignatureNoncesTable;
  mailboxes: MailboxesTable;
  letters: LettersTable;
  documents: DocumentsTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  audit_log: AuditLogTable;
  audit_chain_heads: AuditChainHeadsTable;
  vulnerability_reports: VulnerabilityReportsTable;
  hall_of_fame: HallOfFameTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  eid_logins: EidLoginsTable;
  eid_registrations: EidRegistrationsTable;
  contact_verifications: ContactVerificationsTable;
}

export type Letter = Selectable<LettersTable>;
export type NewLetter = Insertable<LettersTable>;
export type DocumentRow = Selectable<DocumentsTable>;
export type Mailbox = Selectable<MailboxesTable>;
export type Session = Selectable<SessionsTable>;
