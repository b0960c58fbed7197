import { createHash } from 'node:crypto';

/** Cookie tokens are found by their SHA-256, like sessions: the table never holds the token. */
export function sessionTokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
