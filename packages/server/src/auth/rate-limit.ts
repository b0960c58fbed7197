import { isIPv4, isIPv6 } from 'node:net';
import type { Executor } from '../db/database.js';
import { lookupHash } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import {
  countRecentFailures,
  deleteLoginAttempts,
  deleteLoginAttemptsOlderThan,
  insertLoginAttempts,
  markLoginAttemptsSucceeded,
  secondsUntilBelowLimit,
} from './queries.js';

/**
 * Login rate limits (security invariant 6), counted in PostgreSQL so that every server
 * behind the load balancer sees the same numbers. Per account it stops guessing one
 * person's passphrase; per address it stops spraying many accounts from one machine.
 */
export const loginLimits = {
  windowSeconds: 15 * 60,
  perAccount: 5,
  perIp: 30,
} as const;

export interface LoginBuckets {
  /** `account:<keyed hash>`: the number itself never lands in login_attempts. */
  account: string;
  ip: string;
}

/** The problem for a refused attempt; routes copy `retryAfterSeconds` into Retry-After. */
export class LoginRateLimitedError extends KuvertError {
  constructor(
    readonly retryAfterSeconds: number,
    bucket: 'account' | 'ip',
  ) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(
      'rate_limited',
      `Too many failed logins. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`,
      { logReason: `${bucket} limit reached`, fields: { retryAfter: retryAfterSeconds } },
    );
  }
}

export function loginBuckets(options: {
  nationalId: string;
  ip: string;
  keys: MasterKeys;
}): LoginBuckets {
  // Same spelling rules as the lookup (spaces ignored), but a purpose of its own, so these
  // rows cannot be joined to mailboxes.national_id_hash. Unknown and malformed numbers get
  // a bucket too: a refusal must not tell whether the number has a mailbox.
  const typed = options.nationalId.replace(/\s+/g, '');
  const account = lookupHash(typed === '' ? '-' : typed, 'login-attempts', options.keys);
  return { account: `account:${account.toString('hex')}`, ip: `ip:${ipBucketKey(options.ip)}` };
}

/**
 * One bucket per IPv4 address, and per /64 for IPv6: a single host is usually given a
 * whole /64 and could otherwise step to a fresh address for every attempt.
 */
export function ipBucketKey(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  if (isIPv4(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  // An embedded IPv4 tail (::1.2.3.4) takes two groups; only the first four groups matter.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const left = split(head);
  const right = tail === undefined ? [] : split(tail);
  const zeros = Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0');
  return [...left, ...zeros, ...right].map((group) =>
    group.includes('.') ? group : Number.parseInt(group, 16).toString(16),
  );
}

export interface LoginReservation {
  ids: string[];
}

/**
 * Count this attempt before checking any credential: insert it as a failure first, then
 * count. Concurrent attempts on other servers see each other's rows, so a burst cannot
 * slip more than the limit through between a check and a write. A refused attempt is
 * removed again, so hammering a locked bucket does not extend the lock.
 */
export async function reserveLoginAttempt(options: {
  db: Executor;
  buckets: LoginBuckets;
}): Promise<LoginReservation> {
  const { db, buckets } = options;
  const { windowSeconds } = loginLimits;
  const ids = await insertLoginAttempts(db, [buckets.account, buckets.ip]);
  const checks = [
    { kind: 'account', bucket: buckets.account, limit: loginLimits.perAccount },
    { kind: 'ip', bucket: buckets.ip, limit: loginLimits.perIp },
  ] as const;
  for (const check of checks) {
    const failures = await countRecentFailures(db, check.bucket, windowSeconds);
    if (failures > check.limit) {
      await deleteLoginAttempts(db, ids);
      const seconds = await secondsUntilBelowLimit(db, check.bucket, check.limit, windowSeconds);
      throw new LoginRateLimitedError(Math.max(1, Math.ceil(seconds)), check.kind);
    }
  }
  return { ids };
}

/**
 * The buckets whose failures have just reached their limit, so that the next attempt will be
 * refused: the moment a lock-out begins, for the audit log. Called after a failure settled.
 */
export async function bucketsJustLocked(options: {
  db: Executor;
  buckets: LoginBuckets;
}): Promise<Array<'account' | 'ip'>> {
  const { db, buckets } = options;
  const { windowSeconds } = loginLimits;
  const locked: Array<'account' | 'ip'> = [];
  if ((await countRecentFailures(db, buckets.account, windowSeconds)) === loginLimits.perAccount) {
    locked.push('account');
  }
  if ((await countRecentFailures(db, buckets.ip, windowSeconds)) === loginLimits.perIp) {
    locked.push('ip');
  }
  return locked;
}

/** Turn the reserved rows into successes (they stop counting) or leave them as failures. */
export async function settleLoginAttempt(options: {
  db: Executor;
  reservation: LoginReservation;
  succeeded: boolean;
}): Promise<void> {
  if (options.succeeded) await markLoginAttemptsSucceeded(options.db, options.reservation.ids);
  // Rows older than the window are never read again. Pruning now and then on the login
  // path keeps the table small without a scheduled job.
  if (Math.random() < 0.01) {
    await deleteLoginAttemptsOlderThan(options.db, loginLimits.windowSeconds);
  }
}
