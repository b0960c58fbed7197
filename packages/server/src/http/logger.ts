import type { LoggerOptions } from 'pino';

/** Keys whose values never reach the log. */
const secretKeys = [
  'password',
  'passphrase',
  'totp',
  'totpSecret',
  'nationalId',
  'national_id',
  'token',
  'csrfToken',
  'secret',
  'privateKey',
  // Login methods: the current passphrase of a change, recovery codes, TOTP set-up.
  'current',
  'recoveryCode',
  'recoveryCodes',
  'otpauthUri',
  'qrSvg',
];

/**
 * Log options shared by the server and the workers. Secrets, tokens and national identity
 * numbers never reach the log: known paths are redacted, and request bodies are not logged.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers.signature',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        // Each secret key at the top level and two levels down, the same for every key.
        ...secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
      ],
      censor: '[redacted]',
    },
  };
}
