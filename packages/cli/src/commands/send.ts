/**
 * `kuvert send`: deliver one PDF letter through the signed sender API, the way an
 * integrator's system would, using the SDK.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  KuvertApiError,
  KuvertClient,
  KuvertConnectionError,
  loadSenderKey,
  type Recipient,
  type SenderKey,
} from '@kuvert/sdk';

export interface SendContext {
  baseUrl: string;
  dataDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const sendUsage = `Usage: kuvert send --to <national id|email> --subject <subject> [options] <file.pdf>

Options:
  --to <recipient>       national identity number (11 digits) or email address
  --subject <subject>    the letter's subject
  --message-id <uuid>    your id for this letter; sending it again is safe (default: random)
  --key <path>           the sender's private key as a JWK JSON file
                         (default: <data dir>/demo-sender/private-key.jwk.json)
  --key-id <id>          key id registered for the key (default: the JWK's "kid")
  --url <base url>       the Kuvert server (default: $KUVERT_PUBLIC_URL, this server's public address)
`;

/** Exit codes: 0 sent, 1 the letter was not sent, 2 the command line is wrong. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILED,
  ) {
    super(message);
  }
}

interface SendArguments {
  to: string;
  subject: string;
  messageId: string | undefined;
  keyPath: string | undefined;
  keyId: string | undefined;
  url: string | undefined;
  file: string;
}

export async function sendCommand(argv: string[], context: SendContext): Promise<number> {
  try {
    const args = parseSendArguments(argv);
    const [key, bytes] = await Promise.all([
      readSenderKey(args.keyPath ?? defaultKeyPath(context.dataDir), args),
      readDocument(args.file),
    ]);
    const baseUrl = args.url ?? context.baseUrl;
    const client = createClient(baseUrl, key);
    const receipt = await sendLetter(client, args, bytes, baseUrl);
    context.stdout.write(`${JSON.stringify(receipt, null, 2)}\n`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    context.stderr.write(`kuvert send: ${error.message}\n`);
    if (error.exitCode === EXIT_USAGE) context.stderr.write(`\n${sendUsage}`);
    return error.exitCode;
  }
}

export function defaultKeyPath(dataDir: string): string {
  return path.join(dataDir, 'demo-sender', 'private-key.jwk.json');
}

function parseSendArguments(argv: string[]): SendArguments {
  let parsed: ReturnType<typeof parseArgsStrict>;
  try {
    parsed = parseArgsStrict(argv);
  } catch (error) {
    // parseArgs explains unknown options and missing values well; keep its words.
    throw new CommandError((error as Error).message, EXIT_USAGE);
  }
  const { values, positionals } = parsed;
  if (!values.to) throw new CommandError('--to is required', EXIT_USAGE);
  if (!values.subject) throw new CommandError('--subject is required', EXIT_USAGE);
  if (positionals.length !== 1) {
    throw new CommandError('give exactly one file to send', EXIT_USAGE);
  }
  return {
    to: values.to.trim(),
    subject: values.subject,
    messageId: values['message-id'],
    keyPath: values.key,
    keyId: values['key-id'],
    url: values.url,
    file: positionals[0]!,
  };
}

function parseArgsStrict(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      to: { type: 'string' },
      subject: { type: 'string' },
      'message-id': { type: 'string' },
      key: { type: 'string' },
      'key-id': { type: 'string' },
      url: { type: 'string' },
    },
  });
}

/** An address has an "@"; anything else is taken as a national identity number. */
export function recipientOf(to: string): Recipient {
  return to.includes('@') ? { email: to } : { nationalId: to };
}

async function readSenderKey(keyPath: string, args: SendArguments): Promise<SenderKey> {
  let text: string;
  try {
    text = await readFile(keyPath, 'utf8');
  } catch (error) {
    if (isMissingFile(error)) {
      throw new CommandError(
        `no sender key at ${keyPath}. Pass --key <path to the private JWK json> ` +
          '(and --key-id <id> if the JWK has no "kid").',
      );
    }
    throw new CommandError(`cannot read the sender key ${keyPath}: ${(error as Error).message}`);
  }
  try {
    return loadSenderKey(JSON.parse(text), args.keyId);
  } catch (error) {
    throw new CommandError(`the sender key ${keyPath} is not usable: ${(error as Error).message}`);
  }
}

async function readDocument(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if (isMissingFile(error)) throw new CommandError(`file not found: ${file}`);
    throw new CommandError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function createClient(baseUrl: string, key: SenderKey): KuvertClient {
  try {
    return new KuvertClient({ baseUrl, key });
  } catch {
    throw new CommandError(`not a URL: ${baseUrl}`, EXIT_USAGE);
  }
}

async function sendLetter(
  client: KuvertClient,
  args: SendArguments,
  bytes: Buffer,
  baseUrl: string,
) {
  try {
    return await client.sendLetter({
      ...(args.messageId ? { messageId: args.messageId } : {}),
      recipient: recipientOf(args.to),
      subject: args.subject,
      document: { filename: path.basename(args.file), bytes, contentType: 'application/pdf' },
    });
  } catch (error) {
    if (error instanceof KuvertApiError) {
      // Title and detail only: the problem never echoes the recipient's national id.
      const detail = error.detail ? `: ${error.detail}` : '';
      const code = error.code ? `, ${error.code}` : '';
      throw new CommandError(
        `the letter was not sent: ${error.title}${detail} (${error.status}${code})`,
      );
    }
    if (error instanceof KuvertConnectionError) {
      throw new CommandError(
        `cannot reach the Kuvert server at ${baseUrl}. Is it running? Use --url to send elsewhere. ` +
          `(${error.message})`,
      );
    }
    throw new CommandError(`the letter was not sent: ${(error as Error).message}`);
  }
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
