import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Write `content` to a new file (mode 0600) beside where it will live, fsync'd, and return
 * its path. The name starts with a dot and `prefix`, so it never collides with a real name.
 */
export async function writeDurableTempFile(
  directory: string,
  content: Buffer | string,
  prefix = 'tmp',
): Promise<string> {
  const temp = path.join(directory, `.${prefix}-${randomBytes(12).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    // The umask could only narrow 0600, but set it explicitly so the mode never depends on it.
    await handle.chmod(0o600);
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return temp;
}

/** Make a directory's entries (a new, renamed or removed file) survive a crash. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
