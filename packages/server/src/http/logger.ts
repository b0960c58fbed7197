import type { LoggerOptions } from 'pino';

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
        '*.password',
        '*.totp',
        '*.nationalId',
        '*.national_id',
        '*.token',
        '*.secret',
        '*.privateKey',
        'password',
        'totp',
        'nationalId',
        'token',
      ],
      censor: '[redacted]',
    },
  };
}
