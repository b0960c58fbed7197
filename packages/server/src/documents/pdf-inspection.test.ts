import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActiveContent,
  type BombKind,
  buildAnnotationFloodPdf,
  buildBombPdf,
  buildEncryptedLikePdf,
  buildPdf,
  buildPdfWithActiveContent,
  buildPdfWithEmbeddedFile,
  buildPdfWithHiddenJavaScriptName,
  buildPdfWithJavaScript,
  buildPdfWithLaunchAction,
  buildPdfWithPaddedObjectStream,
  buildPdfWithRunLengthObjectStream,
  buildScannedLetterPdf,
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
  scanPdfBytes(bytes: Uint8Array): Promise<Rejected | null>;
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

  describe('decompression bombs: refused as bound violations, never decoded in full', () => {
    const bombs: Array<[BombKind, RegExp]> = [
      ['metadataFlateOfFlate', /a metadata stream \(object 4\) expands to more than 64 MiB/],
      ['contentStreamWithLink', /a content stream \(object 4\) expands to more than 64 MiB/],
      ['flateImage', /an image \(object 5\) expands to more than 160 MiB/],
      ['dctImageDimensions', /an image \(object 5\) declares 100000 × 100000 pixels/],
      [
        'sharedAppearanceStream',
        /a form XObject or appearance stream \(object 5\) expands to more than 64 MiB/,
      ],
    ];

    // One process of its own, so that its peak memory is the bombs' alone.
    let pool: PdfInspector;
    beforeAll(() => {
      pool = createPdfInspector({ processes: 1 });
    });
    afterAll(() => pool.close());

    it.each(bombs)('%s', async (kind, reason) => {
      const bytes = buildBombPdf(kind);
      const error = await pool.inspect(bytes).catch((e: unknown) => e);
      expect(error).toEqual(rejectedWith(/refused as a decompression bomb/));
      expect(error).toEqual(rejectedWith(reason));
      expect(error).toBeInstanceOf(KuvertError);
      expect((error as KuvertError).status).toBe(422);
    });

    it('the inspecting process stayed within a small memory bound throughout', async () => {
      for (const [kind] of bombs) await pool.inspect(buildBombPdf(kind)).catch(() => {});
      const { peakRssBytes } = pool.stats();
      // A process with pdf.js loaded sits near 100 MiB; the metadata bomb alone took one
      // inspection thread to 6.25 GiB before streams were bounded.
      expect(peakRssBytes).toBeGreaterThan(0);
      expect(peakRssBytes).toBeLessThan(400 * 1024 * 1024);
    });

    it('an object stream whose dictionary is padded past 64 KiB is still read', async () => {
      const bytes = buildPdfWithPaddedObjectStream();
      expect(latin1(bytes)).not.toMatch(/JavaScript/);
      await expect(pool.inspect(bytes)).rejects.toEqual(rejectedWith(JAVASCRIPT));
    });

    it('a scanned letter (one A4 page at 300 dpi in RGB, 26 MB decoded) passes', async () => {
      await expect(pool.inspect(buildScannedLetterPdf())).resolves.toEqual({ pageCount: 1 });
    });

    it('the bounds are configurable, and say which one was passed', async () => {
      const strict = createPdfInspector({ processes: 1, limits: { maxImageBytes: 16 << 20 } });
      try {
        await expect(strict.inspect(buildScannedLetterPdf())).rejects.toEqual(
          rejectedWith(/an image \(object 5\) expands to more than 16 MiB; at most 16 MiB/),
        );
      } finally {
        await strict.close();
      }
    });

    it('the document bound covers all streams together', async () => {
      const strict = createPdfInspector({ processes: 1, limits: { maxDecodedBytes: 16 << 20 } });
      try {
        await expect(strict.inspect(buildScannedLetterPdf())).rejects.toEqual(
          rejectedWith(/its streams together expand to more than 16 MiB/),
        );
      } finally {
        await strict.close();
      }
    });
  });

  describe('the envelope checks, before any process', () => {
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

    it('takes a Buffer that views part of a larger buffer, as a parsed request body is', async () => {
      const pdf = await buildPdf({ pages: 2 });
      const body = Buffer.alloc(pdf.byteLength + 100, 0x41);
      body.set(pdf, 50);
      await expect(inspector.inspect(body.subarray(50, 50 + pdf.byteLength))).resolves.toEqual({
        pageCount: 2,
      });
    });

    it('leaves the caller’s bytes intact', async () => {
      const bytes = await buildPdf({ pages: 2 });
      const before = Buffer.from(bytes);
      await inspector.inspect(bytes);
      expect(Buffer.from(bytes).equals(before)).toBe(true);
    });

    it('kills a process that runs over the timeout, and the next inspection works', async () => {
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

    it('refuses a document whose process dies, and replaces the process', async () => {
      const pool = createPdfInspector({ threads: 1, workerUrl: await standIn.crashOnRequest });
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

    it('fails waiting documents as internal errors when no process can start', async () => {
      const pool = createPdfInspector({ threads: 1, workerUrl: await standIn.broken });
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

    it('refuses work beyond the queue’s byte limit as unavailable', async () => {
      const bytes = await buildPdf({ pages: 1, targetBytes: 50_000 });
      const pool = createPdfInspector({ processes: 1, maxQueuedBytes: 80_000 });
      try {
        const first = pool.inspect(bytes); // waits: no process is up yet
        await expect(pool.inspect(bytes)).rejects.toEqual(
          expect.objectContaining({ code: 'unavailable' }),
        );
        await expect(first).resolves.toEqual({ pageCount: 1 });
        expect(pool.stats().queuedBytes).toBe(0);
      } finally {
        await pool.close();
      }
    });

    it.runIf(process.platform === 'linux')(
      'kills a process whose resident memory passes the cap, and refuses its document',
      async () => {
        // pdf.js alone takes a process past 40 MiB; the flood keeps it busy long enough to be seen.
        const pool = createPdfInspector({ processes: 1, maxRssMb: 40 });
        try {
          await expect(pool.inspect(buildAnnotationFloodPdf())).rejects.toEqual(
            rejectedWith(/needed more than 40 MiB of memory/),
          );
        } finally {
          await pool.close();
        }
      },
    );

    it('close() refuses running and later work', async () => {
      const pool = createPdfInspector({ threads: 1 });
      await pool.inspect(await buildPdf()); // a process is up
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

    it('close() leaves no process behind: a process using the pool exits by itself', async () => {
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
      await expect(
        layers.scanPdfBytes(await buildPdf({ pages: 3, targetBytes: 100_000 })),
      ).resolves.toBeNull();
    });

    it.each(activeContent)(
      'finds %s although no such name is visible in the bytes',
      async (kind, reason) => {
        const bytes = buildPdfWithActiveContent(kind);
        expect(latin1(bytes)).not.toMatch(
          /\/(JavaScript|JS|Launch|EmbeddedFiles?|FileAttachment|RichMedia|XFA)\b/,
        );
        expect((await layers.scanPdfBytes(bytes))?.reason).toMatch(reason);
      },
    );

    it('decodes #xx escapes in names', async () => {
      const bytes = pdfText('%PDF-1.7\n1 0 obj << /S /#4A#61vaScript /J#53 (x) >> endobj\n%%EOF');
      expect((await layers.scanPdfBytes(bytes))?.reason).toMatch(
        /\/JavaScript .*written \/#4A#61vaScript/,
      );
    });

    it('counts /JS outside streams but not in stream data, where noise can spell it', async () => {
      const outside = pdfText('%PDF-1.7\n1 0 obj << /JS (x) >> endobj\n%%EOF');
      const inside = pdfText(
        '%PDF-1.7\n1 0 obj << /Length 12 >> stream\n\x01/JS \x02/XFA\x03\nendstream endobj\n%%EOF',
      );
      expect((await layers.scanPdfBytes(outside))?.reason).toMatch(JAVASCRIPT);
      await expect(layers.scanPdfBytes(inside)).resolves.toBeNull();
    });

    it('counts long names even in stream data, where a repaired file may find objects', async () => {
      const bytes = pdfText(
        '%PDF-1.7\n1 0 obj << /Length 30 >> stream\n2 0 obj << /S /Launch >> endobj\nendstream endobj\n%%EOF',
      );
      expect((await layers.scanPdfBytes(bytes))?.reason).toMatch(LAUNCH);
    });

    it('refuses an encrypted file, whose object streams it cannot read', async () => {
      expect((await layers.scanPdfBytes(buildEncryptedLikePdf()))?.reason).toMatch(ENCRYPTED);
    });

    it('refuses an object stream it cannot decode', async () => {
      expect((await layers.scanPdfBytes(buildPdfWithRunLengthObjectStream()))?.reason).toMatch(
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
      expect(await layers.scanPdfBytes(bytes)).not.toBeNull();
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

/**
 * Stand-in worker scripts for tests of the pool's own mechanics, written to a temporary
 * directory (a child process runs a file, not a data: URL).
 */
const standIn = (() => {
  const directory = mkdtemp(path.join(tmpdir(), 'kuvert-pdf-pool-'));
  afterAll(async () => rm(await directory, { recursive: true, force: true }));
  const script = async (name: string, source: string) => {
    const file = path.join(await directory, name);
    await writeFile(file, source);
    return pathToFileURL(file);
  };
  return {
    crashOnRequest: script(
      'crash-on-request.mjs',
      `
      process.on('message', ({ id, bytes }) => {
        if (Buffer.from(bytes).toString('latin1').includes('crash')) process.exit(3);
        process.send({ type: 'result', id, outcome: 'accepted', pageCount: 1 });
      });
      process.send({ type: 'ready' });
    `,
    ),
    broken: script('broken.mjs', `throw new Error('cannot start');`),
  };
})();
