import { writeFile } from 'node:fs/promises';
import { PDFDocument, rgb, StandardFonts } from 'pdf-lib';

/** Writes examples/welcome-letter.pdf, the letter the quick start sends. */
const paragraphs = [
  'Welcome to Kuvert',
  '',
  'This letter travelled the way every Kuvert letter does. The sender signed the request',
  'with its own key (HTTP Message Signatures, RFC 9421) and a digest of the body, so Kuvert',
  'knew who sent it and that nothing was changed on the way.',
  '',
  'Before the PDF touched the disk it was checked (no scripts, no embedded files) and',
  'encrypted with a key of its own, which is itself encrypted with the master key.',
  '',
  'The email you received only said that a letter had arrived. Kuvert never sends letters',
  'by email, and never asks for passwords or personal information by email or SMS.',
  '',
  'You opened it after logging in with your passphrase and a one-time code.',
];

const document = await PDFDocument.create();
document.setTitle('Welcome to Kuvert');
const font = await document.embedFont(StandardFonts.Helvetica);
const bold = await document.embedFont(StandardFonts.HelveticaBold);
const page = document.addPage([595, 842]);
let y = 760;
for (const [index, line] of paragraphs.entries()) {
  page.drawText(line, {
    x: 60,
    y,
    size: index === 0 ? 22 : 12,
    font: index === 0 ? bold : font,
    color: rgb(0.1, 0.1, 0.15),
  });
  y -= index === 0 ? 36 : 18;
}
const bytes = await document.save({ useObjectStreams: false });
await writeFile(new URL('../../../examples/welcome-letter.pdf', import.meta.url), bytes);
process.stdout.write(`examples/welcome-letter.pdf: ${bytes.length} bytes\n`);
