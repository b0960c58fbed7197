import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActiveContent,
  buildAnnotationFloodPdf,
  buildEncryptedLikePdf,
  buildPdf,
  buildPdfWithActiveContent,
  buildPdfWithEmbeddedFile,
  buildPdfWithHiddenJavaScriptName,
  buildPdfWithJavaScript,
  buildPdfWithLaunchAction,
  buildPdfWithRunLengthObjectStream,
  garbledPdf,
  notAPdf,
  truncatedPdf,
} from '../../test/support/pdfs.js';
import { KuvertError } from '../errors.js';
import {
  checkPdfEnvelope,
  createPdfInspector,
  defaultPdfLimits,
  type PdfInspector,
} from './pdf-inspection.js';

type Rejected = { outcome: 'rejected'; reason: string; logReason?: string };
type Verdict = { outcome: 'accepted'; pageCount: number } | Rejected;

/** The worker script's two layers, imported directly to test each on its own. */
interface InspectionLayers {
  scanPdfBytes(bytes: Uint8Array): Rejected | null;
  inspectWithPdfjs(bytes: Uint8Array, maxPages: number): Promise<Verdict>;
}

const workerScript = './pdf-inspection.worker.mjs';
const layers = (await import(workerScript)) as InspectionLayers;

const rejectedWith = (detail: RegExp) =>
  expect.objectContaining({ code: 'document_rejected', detail: expect.stringMatching(detail) });

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const pdfText = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

const JAVASCRIPT = /contains JavaScript/;
const LAUNCH = /contains a Launch action/;
const EMBEDDED_FILE = /contains an embedded file/;
const RICH_MEDIA = /contains rich media/;
const XFA = /contains an XFA form/;
const ENCRYPTED = /encrypted or password-protected/;

const activeContent: Array<[ActiveContent, RegExp]> = [
  ['openActionJavaScript', JAVASCRIPT],
  ['namedJavaScript', JAVASCRIPT],
  ['pageJavaScript', JAVASCRIPT],
  ['linkJavaScript', JAVASCRIPT],
  ['formFieldJavaScript', JAVASCRIPT],
  ['embeddedFile', EMBEDDED_FILE],
  ['fileAttachmentAnnotation', EMBEDDED_FILE],
  ['xfa', XFA],
  ['richMedia', RICH_MEDIA],
];

describe('PDF inspection (security invariant 7)', () => {
  let inspector: PdfInspector;
  beforeAll(() => {
    inspector = createPdfInspector({ threads: 2 });
  });
  afterAll(() => inspector.close());

  describe('valid letters', () => {
    it('accepts a one-page PDF and counts its page', async () => {
      await expect(inspector.inspect(await buildPdf())).resolves.toEqual({ pageCount: 1 });
    });

    it('accepts a three-page PDF and counts its pages', async () => {
      await expect(inspector.inspect(await buildPdf({ pages: 3 }))).resolves.toEqual({
        pageCount: 3,
      });
    });

    it('accepts the ~100 KB three-page benchmark letter', async () => {
      const bytes = await buildPdf({ pages: 3, targetBytes: 100_000 });
      expect(bytes.byteLength).toBeGreaterThan(95_000);
      expect(bytes.byteLength).toBeLessThan(105_000);
      await expect(inspector.inspect(bytes)).resolves.toEqual({ pageCount: 3 });
    });

    it('accepts exactly the page limit', async () => {
      const bytes = await buildPdf({ pages: defaultPdfLimits.maxPages });
      await expect(inspector.inspect(bytes)).resolves.toEqual({ pageCount: 500 });
    });
  });

  describe('refuses active and embedded content, saying what it found', () => {
    it('JavaScript run when the document opens', async () => {
      await expect(inspector.inspect(await buildPdfWithJavaScript())).rejects.toEqual(
        rejectedWith(JAVASCRIPT),
      );
    });

    it('a Launch action', async () => {
      await expect(inspector.inspect(await buildPdfWithLaunchAction())).rejects.toEqual(
        rejectedWith(LAUNCH),
      );
    });

    it('an embedded file', async () => {
      await expect(inspector.inspect(await buildPdfWithEmbeddedFile())).rejects.toEqual(
        rejectedWith(EMBEDDED_FILE),
      );
    });

    it('JavaScript behind hex-escaped names in a compressed object stream', async () => {
      await expect(inspector.inspect(buildPdfWithHiddenJavaScriptName())).rejects.toEqual(
        rejectedWith(/contains JavaScript \(the name \/JavaScript .*written \/J#61vaScript\)/),
      );
    });

    it.each(activeContent)('%s, encoded out of sight in an object stream', async (kind, reason) => {
      await expect(inspector.inspect(buildPdfWithActiveContent(kind))).rejects.toEqual(
        rejectedWith(reason),
      );
    });

    it('rejections are KuvertErrors with status 422', async () => {
      const error = await inspector.inspect(await buildPdfWithJavaScript()).catch((e) => e);
      expect(error).toBeInstanceOf(KuvertError);
      expect(error.status).toBe(422);
    });
  });

  describe('refuses documents it cannot read or check', () => {
    it('bytes that are not a PDF', async () => {
      await expect(inspector.inspect(notAPdf())).rejects.toEqual(rejectedWith(/not a PDF/));
    });

    it('an empty document', async () => {
      await expect(inspector.inspect(new Uint8Array())).rejects.toEqual(rejectedWith(/empty/));
    });

    it('a truncated PDF', async () => {
      await expect(inspector.inspect(await truncatedPdf())).rejects.toEqual(
        rejectedWith(/incomplete.*cut short/),
      );
    });

    it('a PDF header and trailer around garbage', async () => {
      await expect(inspector.inspect(garbledPdf())).rejects.toEqual(
        rejectedWith(/could not be read/),
      );
    });

    it('a PDF that needs a password', async () => {
      await expect(inspector.inspect(buildEncryptedLikePdf())).rejects.toEqual(
        rejectedWith(ENCRYPTED),
      );
    });

    it('an object stream in an encoding the byte scan does not decode', async () => {
      await expect(inspector.inspect(buildPdfWithRunLengthObjectStream())).rejects.toEqual(
        rejectedWith(/cannot be checked: an object stream is encoded with \/RunLengthDecode/),
      );
    });

    it('more than 20 MiB', async () => {
      const bytes = new Uint8Array(defaultPdfLimits.maxBytes + 1);
      bytes.set(Buffer.from('%PDF-1.7\n'));
      bytes.set(Buffer.from('%%EOF\n'), bytes.length - 6);
      await expect(inspector.inspect(bytes)).rejects.toEqual(
        rejectedWith(/20971521 bytes; at most 20971520 bytes \(20 MiB\)/),
      );
    });

    it('more than 500 pages', async () => {
      const bytes = await buildPdf({ pages: 501 });
      await expect(inspector.inspect(bytes)).rejects.toEqual(
        rejectedWith(/has 501 pages; at most 500/),
      );
    });

    it('honours configured limits', async () => {
      const strict = createPdfInspector({ threads: 1, limits: { maxBytes: 5000, maxPages: 2 } });
      try {
        await expect(strict.inspect(await buildPdf({ pages: 3 }))).rejects.toEqual(
          rejectedWith(/has 3 pages; at most 2/),
        );
        await expect(
          strict.inspect(await buildPdf({ pages: 1, targetBytes: 10_000 })),
        ).rejects.toEqual(rejectedWith(/at most 5000 bytes/));
        await expect(strict.inspect(await buildPdf({ pages: 2 }))).resolves.toEqual({
          pageCount: 2,
        });
      } finally {
        await strict.close();
      }
    });
  });

  describe('the envelope checks, before any thread', () => {
    const body = '\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n';

    it('finds the header within the first 1024 bytes, and no further', () => {
      expect(() => checkPdfEnvelope(pdfText(`${' '.repeat(1000)}%PDF-1.7${body}`))).not.toThrow();
      expect(() => checkPdfEnvelope(pdfText(`${' '.repeat(1030)}%PDF-1.7${body}`))).toThrow(
        /not a PDF/,
      );
    });

    it('finds %%EOF within the last 1024 bytes, and no further', () => {
      expect(() => checkPdfEnvelope(pdfText(`%PDF-1.7${body}${'\0'.repeat(1000)}`))).not.toThrow();
      expect(() => checkPdfEnvelope(pdfText(`%PDF-1.7${body}${'\0'.repeat(1030)}`))).toThrow(
        /cut short/,
      );
    });
  });

  describe('the pool', () => {
    it('runs 50 concurrent inspections to completion', async () => {
      const one = await buildPdf({ pages: 1 });
      const three = await buildPdf({ pages: 3, targetBytes: 100_000 });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) => inspector.inspect(index % 2 ? three : one)),
      );
      expect(results).toEqual(
        Array.from({ length: 50 }, (_, index) => ({ pageCount: index % 2 ? 3 : 1 })),
      );
    });

    it('leaves the caller’s bytes intact', async () => {
      const bytes = await buildPdf({ pages: 2 });
      const before = Buffer.from(bytes);
      await inspector.inspect(bytes);
      expect(Buffer.from(bytes).equals(before)).toBe(true);
    });

    it('terminates a thread that runs over the timeout, and the next inspection works', async () => {
      const pool = createPdfInspector({ threads: 1, timeoutMs: 500 });
      try {
        // About a second of pdf.js work on a fast machine: far over 500 ms.
        await expect(pool.inspect(buildAnnotationFloodPdf())).rejects.toEqual(
          rejectedWith(/took longer than 500 ms/),
        );
        await expect(pool.inspect(await buildPdf({ pages: 2 }))).resolves.toEqual({
          pageCount: 2,
        });
      } finally {
        await pool.close();
      }
    });

    it('refuses a document whose thread dies, and replaces the thread', async () => {
      const pool = createPdfInspector({ threads: 1, workerUrl: crashOnRequestWorker });
      try {
        await expect(pool.inspect(pdfText('%PDF-1.7 crash\n%%EOF'))).rejects.toEqual(
          expect.objectContaining({
            code: 'document_rejected',
            detail: expect.stringMatching(/could not be checked/),
            extra: { logReason: expect.stringMatching(/exited with code 3/) },
          }),
        );
        await expect(pool.inspect(pdfText('%PDF-1.7 fine\n%%EOF'))).resolves.toEqual({
          pageCount: 1,
        });
      } finally {
        await pool.close();
      }
    });

    it('fails waiting documents as internal errors when no thread can start', async () => {
      const pool = createPdfInspector({ threads: 1, workerUrl: brokenWorker });
      try {
        await expect(pool.inspect(await buildPdf())).rejects.toEqual(
          expect.objectContaining({ code: 'internal' }),
        );
      } finally {
        await pool.close();
      }
    });

    it('refuses work beyond the queue limit as unavailable', async () => {
      const pool = createPdfInspector({ threads: 1, maxQueued: 2 });
      try {
        const bytes = await buildPdf();
        const first = pool.inspect(bytes);
        const second = pool.inspect(bytes);
        await expect(pool.inspect(bytes)).rejects.toEqual(
          expect.objectContaining({ code: 'unavailable' }),
        );
        await expect(Promise.all([first, second])).resolves.toEqual([
          { pageCount: 1 },
          { pageCount: 1 },
        ]);
      } finally {
        await pool.close();
      }
    });

    it('close() refuses running and later work', async () => {
      const pool = createPdfInspector({ threads: 1 });
      await pool.inspect(await buildPdf()); // a thread is up
      const running = expect(pool.inspect(buildAnnotationFloodPdf())).rejects.toEqual(
        expect.objectContaining({ code: 'unavailable' }),
      );
      await pool.close();
      await running;
      await expect(pool.inspect(await buildPdf())).rejects.toEqual(
        expect.objectContaining({ code: 'unavailable' }),
      );
      await pool.close(); // idempotent
    });

    it('close() leaves no thread behind: a process using the pool exits by itself', async () => {
      const script = `
        const { createPdfInspector } = await import(${JSON.stringify(new URL('./pdf-inspection.ts', import.meta.url).href)});
        const { buildPdf } = await import(${JSON.stringify(new URL('../../test/support/pdfs.ts', import.meta.url).href)});
        const inspector = createPdfInspector({ threads: 2 });
        const results = await Promise.all([1, 2, 3].map(async (pages) => inspector.inspect(await buildPdf({ pages }))));
        await inspector.close();
        console.log(JSON.stringify(results));
      `;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '--eval', script],
        { cwd: fileURLToPath(new URL('../../../..', import.meta.url)), timeout: 20_000 },
      );
      expect(JSON.parse(stdout)).toEqual([{ pageCount: 1 }, { pageCount: 2 }, { pageCount: 3 }]);
    });
  });
});

describe('each inspection layer on its own', () => {
  describe('the byte scan', () => {
    it('finds nothing in valid letters', async () => {
      expect(layers.scanPdfBytes(await buildPdf({ pages: 3, targetBytes: 100_000 }))).toBeNull();
    });

    it.each(activeContent)(
      'finds %s although no such name is visible in the bytes',
      (kind, reason) => {
        const bytes = buildPdfWithActiveContent(kind);
        expect(latin1(bytes)).not.toMatch(
          /\/(JavaScript|JS|Launch|EmbeddedFiles?|FileAttachment|RichMedia|XFA)\b/,
        );
        expect(layers.scanPdfBytes(bytes)?.reason).toMatch(reason);
      },
    );

    it('decodes #xx escapes in names', () => {
      const bytes = pdfText('%PDF-1.7\n1 0 obj << /S /#4A#61vaScript /J#53 (x) >> endobj\n%%EOF');
      expect(layers.scanPdfBytes(bytes)?.reason).toMatch(/\/JavaScript .*written \/#4A#61vaScript/);
    });

    it('counts /JS outside streams but not in stream data, where noise can spell it', () => {
      const outside = pdfText('%PDF-1.7\n1 0 obj << /JS (x) >> endobj\n%%EOF');
      const inside = pdfText(
        '%PDF-1.7\n1 0 obj << /Length 12 >> stream\n\x01/JS \x02/XFA\x03\nendstream endobj\n%%EOF',
      );
      expect(layers.scanPdfBytes(outside)?.reason).toMatch(JAVASCRIPT);
      expect(layers.scanPdfBytes(inside)).toBeNull();
    });

    it('counts long names even in stream data, where a repaired file may find objects', () => {
      const bytes = pdfText(
        '%PDF-1.7\n1 0 obj << /Length 30 >> stream\n2 0 obj << /S /Launch >> endobj\nendstream endobj\n%%EOF',
      );
      expect(layers.scanPdfBytes(bytes)?.reason).toMatch(LAUNCH);
    });

    it('refuses an encrypted file, whose object streams it cannot read', () => {
      expect(layers.scanPdfBytes(buildEncryptedLikePdf())?.reason).toMatch(ENCRYPTED);
    });

    it('refuses an object stream it cannot decode', () => {
      expect(layers.scanPdfBytes(buildPdfWithRunLengthObjectStream())?.reason).toMatch(
        /cannot be checked/,
      );
    });
  });

  describe('pdf.js', () => {
    const viaPdfjs = (bytes: Uint8Array) => layers.inspectWithPdfjs(bytes, 500);

    it('accepts valid letters and counts pages', async () => {
      await expect(viaPdfjs(await buildPdf({ pages: 3 }))).resolves.toEqual({
        outcome: 'accepted',
        pageCount: 3,
      });
    });

    it.each(activeContent.filter(([kind]) => kind !== 'linkJavaScript'))(
      'reports %s',
      async (kind, reason) => {
        const verdict = await viaPdfjs(buildPdfWithActiveContent(kind));
        expect(verdict.outcome === 'rejected' && verdict.reason).toMatch(reason);
      },
    );

    it('reports a truncated PDF as unreadable', async () => {
      const verdict = await viaPdfjs(await truncatedPdf());
      expect(verdict.outcome === 'rejected' && verdict.reason).toMatch(/could not be read/);
    });

    it('reports a PDF that needs a password', async () => {
      const verdict = await viaPdfjs(buildEncryptedLikePdf());
      expect(verdict.outcome === 'rejected' && verdict.reason).toMatch(ENCRYPTED);
    });

    // Why the byte scan exists: pdf.js's API does not report these. If this test starts
    // failing, pdf.js has learnt to; the byte scan stays as defence in depth.
    it.each([
      ['JavaScript in a link', () => buildPdfWithActiveContent('linkJavaScript')],
      ['JavaScript in a bookmark', () => buildPdfWithHiddenJavaScriptName()],
      ['a Launch open action', () => buildPdfWithLaunchAction()],
    ])('does not report %s, which the byte scan does', async (_what, build) => {
      const bytes = await build();
      expect(layers.scanPdfBytes(bytes)).not.toBeNull();
      await expect(viaPdfjs(bytes)).resolves.toEqual({ outcome: 'accepted', pageCount: 1 });
    });
  });

  describe('the test letters', () => {
    it('draw their text on every page', async () => {
      const bytes = await buildPdf({ pages: 2, text: 'Brev fra Kuvert', targetBytes: 50_000 });
      const doc = await getDocument({ data: bytes, isEvalSupported: false }).promise;
      try {
        for (const pageNumber of [1, 2]) {
          const page = await doc.getPage(pageNumber);
          const text = (await page.getTextContent()).items
            .map((item) => ('str' in item ? item.str : ''))
            .join(' ');
          expect(text).toContain('Brev fra Kuvert');
          expect(text).toContain(`Page ${pageNumber} of 2`);
        }
      } finally {
        await doc.destroy();
      }
    });
  });
});

/** Stand-in workers for tests of the pool's own mechanics. */
function moduleUrl(source: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

const crashOnRequestWorker = moduleUrl(`
  import { parentPort } from 'node:worker_threads';
  parentPort.on('message', ({ id, bytes }) => {
    if (Buffer.from(bytes).toString('latin1').includes('crash')) process.exit(3);
    parentPort.postMessage({ type: 'result', id, outcome: 'accepted', pageCount: 1 });
  });
  parentPort.postMessage({ type: 'ready' });
`);

const brokenWorker = moduleUrl(`throw new Error('cannot start');`);
