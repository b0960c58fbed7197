import { isIPv4, isIPv6 } from 'node:net';
import type { Executor } from '../db/database.js';
import { lookupHash } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import {
  deleteLoginAttempts,
  deleteLoginAttemptsOlderThan,
  insertLoginAttemptsAndCount,
  markLoginAttemptsSucceeded,
  recentFailures,
} from './queries.js';

/**
 * Login throttling (security invariant 6), counted in PostgreSQL so that every server behind
 * the load balancer sees the same numbers. Per account it slows guessing one person's
 * passphrase; per address it slows spraying many accounts from one machine.
 *
 * Not a lock-out of fixed length but growing delays (OWASP Authentication Cheat Sheet,
 * "Account Lockout": exponential back-off): a few failures are free, then each further
 * attempt must wait twice as long after the latest failure as the one before, up to a cap.
 * An attacker gets a handful of guesses an hour; the owner, who has eID and a device cookie
 * (device-cookie.ts) to get past the account bucket, never waits for the attacker.
 */
export const loginLimits = {
  /** Failures older than this no longer count. */
  windowSeconds: 60 * 60,
  /** Failures on one account (keyed hash of the number) before delays begin. */
  perAccount: 5,
  /** Failures from one address (/64 for IPv6) before delays begin. */
  perIp: 30,
  /** Failures from one device that holds the account's device cookie before delays begin. */
  perDevice: 5,
  /** The wait after the first failure beyond the free ones; it doubles with each further one. */
  firstDelaySeconds: 30,
  maxDelaySeconds: 15 * 60,
} as const;

export type LoginBucketKind = 'account' | 'ip' | 'device';

export interface LoginBucket {
  kind: LoginBucketKind;
  /** `account:<keyed hash>`, `ip:<address>` or `device:<mailbox>:<nonce>`. */
  key: string;
}

export interface LoginBuckets {
  /** `account:<keyed hash>`: the number itself never lands in login_attempts. */
  account: string;
  ip: string;
}

const freeFailures: Record<LoginBucketKind, number> = {
  account: loginLimits.perAccount,
  ip: loginLimits.perIp,
  device: loginLimits.perDevice,
};

/** Seconds an attempt must wait after the latest failure, once a bucket has `failures`. */
export function delayAfterFailures(kind: LoginBucketKind, failures: number): number {
  const beyond = failures - freeFailures[kind];
  if (beyond < 0) return 0;
  return Math.min(loginLimits.maxDelaySeconds, loginLimits.firstDelaySeconds * 2 ** beyond);
}

/** The problem for a refused attempt; routes copy `retryAfterSeconds` into Retry-After. */
export class LoginRateLimitedError extends KuvertError {
  constructor(
    readonly retryAfterSeconds: number,
    bucket: LoginBucketKind,
  ) {
    super(
      'rate_limited',
      `Too many failed logins. Wait ${waitText(retryAfterSeconds)} and try again.`,
      {
        logReason: `${bucket} delay`,
        fields: { retryAfter: retryAfterSeconds },
      },
    );
  }
}

function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/**
 * The buckets an attempt counts in: its own device's bucket alone when it comes with a valid
 * device cookie for the account it names, else the account's and the address's.
 */
export function bucketsForAttempt(options: {
  buckets: LoginBuckets;
  trustedDevice: { mailboxId: string; nonce: string } | undefined;
}): LoginBucket[] {
  const { trustedDevice } = options;
  if (trustedDevice) {
    return [{ kind: 'device', key: `device:${trustedDevice.mailboxId}:${trustedDevice.nonce}` }];
  }
  return [
    { kind: 'account', key: options.buckets.account },
    { kind: 'ip', key: options.buckets.ip },
  ];
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
  buckets: LoginBucket[];
}

/**
 * Count this attempt before checking any credential: insert it as a failure first, then
 * look at the others. Concurrent attempts on other servers see each other's rows, so a burst
 * cannot slip through between a check and a write. A refused attempt is removed again, so
 * hammering a throttled bucket does not lengthen its wait.
 */
export async function reserveLoginAttempt(options: {
  db: Executor;
  buckets: LoginBucket[];
}): Promise<LoginReservation> {
  const { db, buckets } = options;
  const { ids, earlier } = await insertLoginAttemptsAndCount(db, {
    buckets: buckets.map((bucket) => bucket.key),
    windowSeconds: loginLimits.windowSeconds,
  });
  for (const bucket of buckets) {
    const recent = earlier.get(bucket.key) ?? { failures: 0, secondsSinceLatest: Infinity };
    const delay = delayAfterFailures(bucket.kind, recent.failures);
    // A concurrent attempt's row can be stamped a hair after this statement's now(): with no
    // delay due, that must not turn into a wait of a second.
    const wait = delay - Math.max(0, recent.secondsSinceLatest);
    if (delay > 0 && wait > 0) {
      await deleteLoginAttempts(db, ids);
      throw new LoginRateLimitedError(Math.max(1, Math.ceil(wait)), bucket.kind);
    }
  }
  return { ids, buckets };
}

export interface ThrottleStarted {
  limit: LoginBucketKind;
  failures: number;
  retryAfterSeconds: number;
}

/**
 * Turn the reserved rows into successes (they stop counting) or leave them as failures. For
 * a failure, returns the buckets that now make the next attempt wait: the lock-outs, for
 * the audit log. One entry per failure at most, and failures are themselves throttled, so
 * an attacker cannot fill the log faster than the delays allow.
 */
export async function settleLoginAttempt(options: {
  db: Executor;
  reservation: LoginReservation;
  succeeded: boolean;
}): Promise<ThrottleStarted[]> {
  const { db, reservation } = options;
  const started: ThrottleStarted[] = [];
  if (options.succeeded) {
    await markLoginAttemptsSucceeded(db, reservation.ids);
  } else {
    for (const bucket of reservation.buckets) {
      const { failures } = await recentFailures(db, {
        bucket: bucket.key,
        windowSeconds: loginLimits.windowSeconds,
        excludeIds: [],
      });
      const retryAfterSeconds = delayAfterFailures(bucket.kind, failures);
      if (retryAfterSeconds > 0) started.push({ limit: bucket.kind, failures, retryAfterSeconds });
    }
  }
  // Rows older than the window are never read again. Pruning now and then on the login
  // path keeps the table small without a scheduled job.
  if (Math.random() < 0.01) {
    await deleteLoginAttemptsOlderThan(db, loginLimits.windowSeconds);
  }
  return started;
}
