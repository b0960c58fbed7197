import { ipBucketKey } from '../auth/rate-limit.js';
import { KuvertError } from '../errors.js';

/** Reports per address (IPv4, or IPv6 /64) and window: plenty for a person, little for a flood. */
export const reportLimits = { perIp: 5, windowSeconds: 3600 } as const;

export class ReportRateLimitedError extends KuvertError {
  constructor(readonly retryAfterSeconds: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(
      'rate_limited',
      `Too many reports from this address. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again, or send the report by email.`,
      { fields: { retryAfter: retryAfterSeconds } },
    );
  }
}

/**
 * Counts report attempts per address in a fixed window, in this process's memory. Unlike login
 * attempts (counted in PostgreSQL across servers), nothing here guards a secret: the limit
 * only keeps one machine from filling the table, and with N servers it is at most N times as
 * loose. Keeping no address in the database also means a report's sender is recorded nowhere.
 */
export function createReportRateLimiter(
  limits: { perIp: number; windowSeconds: number } = reportLimits,
) {
  const windows = new Map<string, { startedAt: number; count: number }>();
  const windowMs = limits.windowSeconds * 1000;

  const prune = (now: number) => {
    for (const [bucket, window] of windows) {
      if (now - window.startedAt >= windowMs) windows.delete(bucket);
    }
  };

  return {
    /** Count one attempt from `ip`; throws ReportRateLimitedError past the limit. */
    take(ip: string, now = Date.now()): void {
      if (windows.size > 10_000) prune(now);
      const bucket = ipBucketKey(ip);
      let window = windows.get(bucket);
      if (!window || now - window.startedAt >= windowMs) {
        window = { startedAt: now, count: 0 };
        windows.set(bucket, window);
      }
      if (window.count >= limits.perIp) {
        throw new ReportRateLimitedError(Math.ceil((window.startedAt + windowMs - now) / 1000));
      }
      window.count += 1;
    },
  };
}
