import { EmbeddedPostgresError } from '@kuvert/server/db/embedded-postgres';
import { MasterKeyError } from '@kuvert/server/documents/master-keys';
import { KuvertError } from '@kuvert/server/errors';
import { ServiceKeyError } from '@kuvert/server/security-page/service-key';

/** A problem the operator fixes (a port, a setting, a missing file): one line, no stack. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Errors whose message is the whole story for the operator. */
export function isOperatorError(error: unknown): error is Error {
  return (
    error instanceof StartupError ||
    error instanceof MasterKeyError ||
    error instanceof ServiceKeyError ||
    error instanceof EmbeddedPostgresError
  );
}

/** Print an admin command's failure for a person, without a stack trace for expected errors. */
export function reportError(
  error: unknown,
  stderr: { write(text: string): unknown } = process.stderr,
): number {
  if (error instanceof KuvertError) {
    stderr.write(`${error.title}${error.detail ? `: ${error.detail}` : ''}\n`);
    return 1;
  }
  if (error instanceof Error) {
    stderr.write(`${error.message}\n`);
    return 1;
  }
  throw error;
}
