import { type AuditAction, appendAuditEvent, listAuditEventsAbout } from '../audit/service.js';
import type { Db } from '../db/database.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { coarseNetwork, type DeviceDescription, describeDevice } from './devices.js';
import { listLiveSessions, revokeSessionOfMailbox, revokeSessionsOfMailbox } from './queries.js';
import { type RecipientSession, sessionTimeouts } from './sessions.js';

/**
 * What a person can see and do about their own sessions and logins:
 * the list of live sessions, revoking one or all others, and the recent login history. Every
 * query is scoped by the caller's mailbox, so a session id of another mailbox is "not found".
 */

export interface SessionSummary {
  /** Hex SHA-256 of the token: names the session without being a credential. */
  id: string;
  device: DeviceDescription;
  authLevel: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  current: boolean;
}

export async function listMySessions(options: {
  db: Db;
  recipient: RecipientSession;
}): Promise<SessionSummary[]> {
  const rows = await listLiveSessions(options.db, options.recipient.mailboxId, sessionTimeouts);
  return rows.map((row) => ({
    id: row.id.toString('hex'),
    device: describeDevice(row.user_agent),
    authLevel: row.auth_level,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    current: row.id.toString('hex') === options.recipient.sessionId,
  }));
}

const sessionIdPattern = /^[0-9a-f]{64}$/;

/**
 * Revoke one of the caller's sessions; takes effect at once, since every request looks its
 * session up. 404 for an id that is malformed, unknown, already ended or another mailbox's.
 */
export async function revokeMySession(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  sessionId: string;
  ip: string;
}): Promise<{ current: boolean }> {
  const { recipient } = options;
  const sessionId = options.sessionId.toLowerCase();
  if (!sessionIdPattern.test(sessionId)) throw new KuvertError('not_found');
  const revoked = await options.db.transaction().execute(async (tx) => {
    const row = await revokeSessionOfMailbox(
      tx,
      recipient.mailboxId,
      Buffer.from(sessionId, 'hex'),
    );
    if (!row) return false;
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${recipient.mailboxId}`,
      action: 'session.revoked',
      subject: recipient.mailboxId,
      details: { sessionId, by: recipient.sessionId, ip: options.ip },
    });
    return true;
  });
  if (!revoked) throw new KuvertError('not_found');
  return { current: sessionId === recipient.sessionId };
}

/** "Log out everywhere else", or everywhere with `includeCurrent`. Returns how many ended. */
export async function revokeMySessions(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  includeCurrent: boolean;
  ip: string;
}): Promise<number> {
  const { recipient } = options;
  return options.db.transaction().execute(async (tx) => {
    const except = options.includeCurrent ? undefined : Buffer.from(recipient.sessionId, 'hex');
    const rows = await revokeSessionsOfMailbox(tx, recipient.mailboxId, except);
    for (const row of rows) {
      await appendAuditEvent(tx, options.keys, {
        actor: `mailbox:${recipient.mailboxId}`,
        action: 'session.revoked',
        subject: recipient.mailboxId,
        details: {
          sessionId: row.id.toString('hex'),
          by: recipient.sessionId,
          everywhere: true,
          ip: options.ip,
        },
      });
    }
    return rows.length;
  });
}

export type LoginOutcome = 'succeeded' | 'failed' | 'locked_out';

export interface LoginHistoryEntry {
  at: Date;
  outcome: LoginOutcome;
  method: string | null;
  device: DeviceDescription;
  /** The /24 (IPv4) or /48 (IPv6) the attempt came from: never a full address. */
  network: string | null;
}

const outcomes: Partial<Record<AuditAction, LoginOutcome>> = {
  'login.succeeded': 'succeeded',
  'login.failed': 'failed',
  'login.locked_out': 'locked_out',
};
const historyActions = Object.keys(outcomes) as AuditAction[];
export const loginHistoryLimit = 50;

/** The newest logins, failed attempts and lock-outs on the caller's mailbox. */
export async function listMyLoginHistory(options: {
  db: Db;
  recipient: RecipientSession;
}): Promise<LoginHistoryEntry[]> {
  const events = await listAuditEventsAbout(options.db, {
    subject: options.recipient.mailboxId,
    actions: historyActions,
    limit: loginHistoryLimit,
  });
  return events.map((event) => ({
    at: event.at,
    outcome: outcomes[event.action] ?? 'failed',
    method: typeof event.details.method === 'string' ? event.details.method : null,
    device: presentDevice(event.details.device),
    network: coarseNetwork(event.details.ip),
  }));
}

/** A device as stored in an audit entry, trusted only as far as its shape. */
function presentDevice(stored: unknown): DeviceDescription {
  if (typeof stored !== 'object' || stored === null) return { browser: null, os: null };
  const { browser, os } = stored as Record<string, unknown>;
  return {
    browser: typeof browser === 'string' ? browser : null,
    os: typeof os === 'string' ? os : null,
  };
}
