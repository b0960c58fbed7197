import { InvalidConfigError, loadConfig } from '@kuvert/server/config';
import { auditCommand } from './commands/audit.js';
import { demoCommand } from './commands/demo.js';
import { mailboxCommand } from './commands/mailbox.js';
import { migrateCommand } from './commands/migrate.js';
import { isOperatorError } from './commands/report-error.js';
import { hallOfFameCommand, reportsCommand, reportsUsage } from './commands/reports.js';
import { sendCommand } from './commands/send.js';
import { senderCommand } from './commands/sender.js';
import { startCommand } from './commands/start.js';

const usage = `Usage: kuvert <command> [options]

Commands:
  start                         run the server and its workers (embedded PostgreSQL unless DATABASE_URL)
  worker                        run background jobs only (for scaling out)
  migrate                       apply database migrations and exit
  sender create --name <name> [--public-key <jwk file>]
                                register a sender (and its public key)
  sender add-key --sender <id> --public-key <jwk file>
                                register another public key for a sender
  sender revoke-key --key-id <id>
                                revoke a sender key (other servers stop accepting it within 10 s)
  sender list                   list senders and their keys
  mailbox create --national-id <id> --email <email> [--language nb|nn|en]
                                create a recipient mailbox; the first passphrase comes from
                                KUVERT_NEW_PASSWORD (or --password); prints the TOTP secret
  send --to <nationalId|email> --subject <subject> <file.pdf>
                                deliver a letter through the API (development: as the demo sender)
  demo code                     the demo recipient's current TOTP code (development only)
  audit verify | audit checkpoint
                                check the audit log against its last signed checkpoint | write one
${reportsUsage}

Configuration comes from the environment; see the README.`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    return await runCommand(command, rest, config);
  } catch (error) {
    // A problem the operator fixes is one line on stderr; anything else keeps its stack.
    if (!isOperatorError(error)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}

async function runCommand(
  command: string,
  rest: string[],
  config: ReturnType<typeof loadConfig>,
): Promise<number> {
  switch (command) {
    case 'start':
      return startCommand(config, { workersOnly: false });
    case 'worker':
      return startCommand(config, { workersOnly: true });
    case 'migrate':
      return migrateCommand(config);
    case 'sender':
      return senderCommand(config, rest);
    case 'mailbox':
      return mailboxCommand(config, rest);
    case 'demo':
      return demoCommand(config, rest);
    case 'audit':
      return auditCommand(config, rest);
    case 'reports':
      return reportsCommand(config, rest);
    case 'halloffame':
      return hallOfFameCommand(config, rest);
    case 'send':
      return sendCommand(rest, {
        // The server accepts signatures made for its public address only (@authority).
        baseUrl: config.KUVERT_PUBLIC_URL,
        dataDir: config.dataDir,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${usage}\n`);
      return 2;
  }
}
