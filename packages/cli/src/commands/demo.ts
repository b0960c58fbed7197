import { readFile } from 'node:fs/promises';
import type { Config } from '@kuvert/server/config';
import { demoPaths } from '@kuvert/server/demo';
import { totpFor, totpParameters } from '@kuvert/server/mailboxes/service';
import { Secret } from 'otpauth';

/**
 * `kuvert demo code`: the demo recipient's current TOTP code, for trying Kuvert without
 * an authenticator app. Development only: the demo does not exist in production.
 */
export async function demoCommand(config: Readonly<Config>, argv: string[]): Promise<number> {
  if (config.isProduction) {
    process.stderr.write('There is no demo data in production.\n');
    return 1;
  }
  if (argv[0] !== 'code') {
    process.stderr.write('Usage: kuvert demo code\n');
    return 2;
  }
  let recipient: { nationalId: string; totpSecret: string };
  try {
    recipient = JSON.parse(await readFile(demoPaths(config.dataDir).recipient, 'utf8'));
  } catch {
    process.stderr.write('No demo recipient yet: run `npm start` once first.\n');
    return 1;
  }
  // The same TOTP the login checks (one definition of its parameters).
  const totp = totpFor(Buffer.from(Secret.fromBase32(recipient.totpSecret).bytes));
  const remaining = totpParameters.period - (Math.floor(Date.now() / 1000) % totpParameters.period);
  process.stdout.write(
    `${totp.generate()}  (valid for ${remaining} s more; national identity number ${recipient.nationalId})\n`,
  );
  return 0;
}
