import { KuvertError } from '@kuvert/server/errors';

/** Print an admin command's failure for a person, without a stack trace for expected errors. */
export function reportError(error: unknown): number {
  if (error instanceof KuvertError) {
    process.stderr.write(`${error.title}${error.detail ? `: ${error.detail}` : ''}\n`);
    return 1;
  }
  if (error instanceof Error) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  throw error;
}
