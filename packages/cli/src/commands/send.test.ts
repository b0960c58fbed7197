import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { generateSenderKey } from '@kuvert/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultKeyPath, recipientOf, sendCommand } from './send.js';

// These tests need no Kuvert server: argument and file errors, and a stub HTTP peer on
// loopback for the output. The end-to-end test against the real server lives elsewhere.

let dataDir: string;
let pdfPath: string;
let stub: {
  server: Server;
  url: string;
  bodies: Buffer[];
  reply: { status: number; body: unknown };
};

function output() {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function run(argv: string[], baseUrl = stub.url) {
  const stdout = output();
  const stderr = output();
  const code = await sendCommand(argv, {
    baseUrl,
    dataDir,
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-send-'));
  pdfPath = path.join(dataDir, 'letter.pdf');
  await writeFile(pdfPath, '%PDF-1.7\n%%EOF\n');
  const { privateJwk } = generateSenderKey('ed25519', 'demo-key');
  await mkdir(path.dirname(defaultKeyPath(dataDir)), { recursive: true });
  await writeFile(defaultKeyPath(dataDir), JSON.stringify(privateJwk));

  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(stub.reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stub.reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub = { server, url, bodies, reply: { status: 500, body: {} } };
});

afterEach(async () => {
  await new Promise((resolve) => stub.server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

const receipt = {
  id: 'letter-1',
  messageId: '0b7e4f1a-1111-4222-8333-444455556666',
  status: 'delivered',
  deliveredAt: '2026-11-25T12:00:00.000Z',
  notifiedAt: null,
  readAt: null,
};

describe('kuvert send', () => {
  it('sends with the demo key and prints the receipt as JSON', async () => {
    stub.reply = { status: 201, body: receipt };
    const result = await run([
      '--to',
      '01010112345',
      '--subject',
      'Hei',
      '--message-id',
      receipt.messageId,
      pdfPath,
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(receipt);
    const body = stub.bodies[0]!.toString('latin1');
    expect(body).toContain(`"messageId":"${receipt.messageId}"`);
    expect(body).toContain('filename="letter.pdf"');
  });

  it('prints the problem title and detail to stderr and exits 1', async () => {
    stub.reply = {
      status: 422,
      body: {
        type: 'https://kuvert.example/problems/recipient_not_found',
        title: 'The recipient has no Kuvert mailbox',
        status: 422,
        detail: 'Send the letter on paper instead.',
        code: 'recipient_not_found',
      },
    };
    const result = await run(['--to', 'kari@example.no', '--subject', 'Hei', pdfPath]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'The recipient has no Kuvert mailbox: Send the letter on paper instead. (422, recipient_not_found)',
    );
  });

  it.each([
    ['--to is missing', ['--subject', 'Hei', 'x.pdf'], /--to is required/],
    ['--subject is missing', ['--to', '01010112345', 'x.pdf'], /--subject is required/],
    ['the file is missing', ['--to', '01010112345', '--subject', 'Hei'], /exactly one file/],
    [
      'an option is unknown',
      ['--to', 'a@b.no', '--subject', 'Hei', '--bcc', 'x', 'x.pdf'],
      /--bcc/,
    ],
    ['an option has no value', ['--subject', 'Hei', 'x.pdf', '--to'], /--to/],
  ])('explains the usage and exits 2 when %s', async (_case, argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: kuvert send');
  });

  it('says which file is missing', async () => {
    const result = await run(['--to', '01010112345', '--subject', 'Hei', 'no-such.pdf']);
    expect(result).toMatchObject({ code: 1 });
    expect(result.stderr).toContain('file not found: no-such.pdf');
  });

  it('says how to pass a key when there is none', async () => {
    const keyPath = path.join(dataDir, 'missing.jwk.json');
    const result = await run([
      '--to',
      '01010112345',
      '--subject',
      'Hei',
      '--key',
      keyPath,
      pdfPath,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `no sender key at ${keyPath}. Pass --key <path to the private JWK json>`,
    );
  });

  it('needs --key-id for a JWK without kid', async () => {
    const { privateJwk } = generateSenderKey('ecdsa-p256-sha256');
    const { kid: _kid, ...withoutKid } = privateJwk;
    const keyPath = path.join(dataDir, 'nokid.jwk.json');
    await writeFile(keyPath, JSON.stringify(withoutKid));
    const refused = await run([
      '--to',
      '01010112345',
      '--subject',
      'Hei',
      '--key',
      keyPath,
      pdfPath,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not usable: .*kid/);

    stub.reply = { status: 201, body: receipt };
    const sent = await run([
      '--to',
      '01010112345',
      '--subject',
      'Hei',
      '--key',
      keyPath,
      '--key-id',
      'k1',
      pdfPath,
    ]);
    expect(sent.code).toBe(0);
  });

  it('reports an unreachable server clearly', async () => {
    const closed = stub.url;
    await new Promise((resolve) => stub.server.close(resolve));
    stub.server = createServer(); // so afterEach has something to close
    const result = await run(['--to', '01010112345', '--subject', 'Hei', pdfPath], closed);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the Kuvert server at ${closed}. Is it running?`);
  });

  it('tells an email address from a national identity number by the "@"', () => {
    expect(recipientOf('kari@example.no')).toEqual({ email: 'kari@example.no' });
    expect(recipientOf('01010112345')).toEqual({ nationalId: '01010112345' });
  });
});
