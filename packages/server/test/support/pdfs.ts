/**
 * PDFs for tests and benchmarks: real, valid letters built with pdf-lib, and hostile
 * variants that PDF inspection (security invariant 7) must refuse.
 *
 * Some hostile variants are written by hand (`assemblePdf`) because pdf-lib normalises
 * what they need to get wrong on purpose: hex-escaped names, actions pdf.js does not
 * report, object streams behind a filter chain, an encryption dictionary.
 */
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import {
  concatTransformationMatrix,
  drawObject,
  PDFDocument,
  PDFName,
  PDFString,
  popGraphicsState,
  pushGraphicsState,
  rgb,
  StandardFonts,
} from 'pdf-lib';

export interface BuildPdfOptions {
  /** Number of pages, each with the text drawn on it. Default 1. */
  pages?: number;
  /** Drawn at the top of every page. Default "Kuvert test letter". */
  text?: string;
  /**
   * Approximate size of the file in bytes (within a few per cent). The padding is real page
   * content: an incompressible noise image drawn on each page, never trailing garbage.
   */
  targetBytes?: number;
}

/** A real, valid PDF letter: `text` and "Page i of n" drawn on every page. */
export async function buildPdf(options: BuildPdfOptions = {}): Promise<Uint8Array> {
  const pages = options.pages ?? 1;
  const text = options.text ?? 'Kuvert test letter';
  const first = await renderLetter({ pages, text, imageBytesPerPage: 0 });
  if (options.targetBytes === undefined || options.targetBytes <= first.byteLength) {
    return first;
  }
  // An image object costs its pixels plus a little dictionary and drawing overhead:
  // estimate, build, then correct once with the measured error.
  let perPage = Math.floor((options.targetBytes - first.byteLength) / pages) - IMAGE_OVERHEAD;
  let built = await renderLetter({ pages, text, imageBytesPerPage: Math.max(perPage, 0) });
  perPage += Math.floor((options.targetBytes - built.byteLength) / pages);
  built = await renderLetter({ pages, text, imageBytesPerPage: Math.max(perPage, 0) });
  return built;
}

const IMAGE_OVERHEAD = 200;
const IMAGE_WIDTH = 100;

async function renderLetter(options: {
  pages: number;
  text: string;
  imageBytesPerPage: number;
}): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  // Fixed dates keep the bytes reproducible from one run to the next.
  doc.setCreationDate(new Date('2025-01-01T00:00:00Z'));
  doc.setModificationDate(new Date('2025-01-01T00:00:00Z'));
  doc.setTitle(options.text);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const random = seededRandom(0x6b75_7665);
  for (let index = 1; index <= options.pages; index += 1) {
    const page = doc.addPage([595, 842]);
    page.drawText(options.text, { x: 50, y: 780, size: 20, font, color: rgb(0, 0, 0) });
    page.drawText(`Page ${index} of ${options.pages}`, { x: 50, y: 750, size: 12, font });
    const rows = Math.floor(options.imageBytesPerPage / (IMAGE_WIDTH * 3));
    if (rows > 0) {
      const pixels = new Uint8Array(IMAGE_WIDTH * 3 * rows);
      for (let i = 0; i < pixels.length; i += 1) pixels[i] = random() & 0xff;
      // Uncompressed on purpose: noise does not compress, and the size stays predictable.
      const image = doc.context.register(
        doc.context.stream(pixels, {
          Type: 'XObject',
          Subtype: 'Image',
          Width: IMAGE_WIDTH,
          Height: rows,
          ColorSpace: 'DeviceRGB',
          BitsPerComponent: 8,
        }),
      );
      const name = page.node.newXObject('Noise', image);
      page.pushOperators(
        pushGraphicsState(),
        concatTransformationMatrix(300, 0, 0, 600, 50, 100),
        drawObject(name),
        popGraphicsState(),
      );
    }
  }
  return doc.save();
}

/** Mulberry32: deterministic noise, so a benchmark file is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

async function letterDocument(text: string): Promise<PDFDocument> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage([595, 842]).drawText(text, { x: 50, y: 780, size: 20, font });
  return doc;
}

/** An OpenAction that runs JavaScript when the file is opened (saved in an object stream). */
export async function buildPdfWithJavaScript(): Promise<Uint8Array> {
  const doc = await letterDocument('Open me');
  doc.catalog.set(
    PDFName.of('OpenAction'),
    doc.context.obj({ Type: 'Action', S: 'JavaScript', JS: PDFString.of("app.alert('hi');") }),
  );
  return doc.save();
}

/**
 * An OpenAction that launches a program. pdf.js does not report Launch open actions through
 * its API, and pdf-lib hides the catalog inside a compressed object stream: only a byte scan
 * that inflates object streams finds it.
 */
export async function buildPdfWithLaunchAction(): Promise<Uint8Array> {
  const doc = await letterDocument('Launch');
  doc.catalog.set(
    PDFName.of('OpenAction'),
    doc.context.obj({
      Type: 'Action',
      S: 'Launch',
      F: PDFString.of('cmd.exe'),
      Win: { F: PDFString.of('cmd.exe'), P: PDFString.of('/c calc.exe') },
    }),
  );
  return doc.save();
}

/** A document-level attachment (an executable, as far as the name and bytes go). */
export async function buildPdfWithEmbeddedFile(): Promise<Uint8Array> {
  const doc = await letterDocument('See attachment');
  const payload = new TextEncoder().encode('MZ\u0090\u0000 not really a program');
  await doc.attach(payload, 'invoice.exe', {
    mimeType: 'application/x-msdownload',
    description: 'Invoice',
  });
  return doc.save();
}

/**
 * JavaScript behind hex-escaped names (`/J#61vaScript`, `/J#53`) in a bookmark action, inside a
 * Flate object stream. pdf.js does not report outline actions, so this exercises the byte
 * scan's object-stream inflation and `#xx` normalisation.
 */
export function buildPdfWithHiddenJavaScriptName(): Uint8Array {
  return assemblePdf({
    objectStream: 'flate',
    objects: [
      { body: '<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R /PageMode /UseOutlines >>' },
      ...singlePageObjects('Bookmarks'),
      { body: '<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>' },
      {
        body: '<< /Title (Start) /Parent 6 0 R /A << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >> >>',
      },
    ],
  });
}

/**
 * A PDF whose encryption dictionary does not accept the empty user password, so it cannot be
 * opened without a password (the /O and /U entries are arbitrary bytes).
 */
export function buildEncryptedLikePdf(): Uint8Array {
  const hex32 = (byte: number) => byte.toString(16).padStart(2, '0').repeat(32);
  return assemblePdf({
    objects: [
      { body: '<< /Type /Catalog /Pages 2 0 R >>' },
      ...singlePageObjects('Secret'),
      {
        body: `<< /Filter /Standard /V 1 /R 2 /O <${hex32(0x4f)}> /U <${hex32(0x55)}> /P -3904 >>`,
      },
    ],
    trailer: `/Encrypt 6 0 R /ID [<${hex32(0x11).slice(0, 32)}> <${hex32(0x11).slice(0, 32)}>]`,
  });
}

/** What each `buildPdfWithActiveContent` variant carries. */
export type ActiveContent =
  | 'openActionJavaScript'
  | 'namedJavaScript'
  | 'pageJavaScript'
  | 'linkJavaScript'
  | 'formFieldJavaScript'
  | 'embeddedFile'
  | 'fileAttachmentAnnotation'
  | 'xfa'
  | 'richMedia';

/**
 * One kind of active or embedded content, tucked away: every dictionary sits in an object
 * stream encoded with the filter chain `[/ASCIIHexDecode /FlateDecode]`, and the streams
 * outside it (file contents, XFA) carry no telling names, so no name is visible in the raw
 * bytes. pdf.js reports all but `linkJavaScript` through its API; a byte scan must decode the
 * chain to see any of them.
 */
export function buildPdfWithActiveContent(content: ActiveContent): Uint8Array {
  const js = '<< /S /JavaScript /JS (app.alert\\(1\\)) >>';
  const rect = '/Rect [50 600 250 640]';
  const variants: Record<
    ActiveContent,
    { catalog?: string; page?: string; extra: AssembledObject[] }
  > = {
    openActionJavaScript: { catalog: '/OpenAction 6 0 R', extra: [{ body: js }] },
    namedJavaScript: {
      catalog: '/Names << /JavaScript << /Names [(init) 6 0 R] >> >>',
      extra: [{ body: js }],
    },
    pageJavaScript: { page: `/AA << /O 6 0 R >>`, extra: [{ body: js }] },
    linkJavaScript: {
      page: '/Annots [6 0 R]',
      extra: [{ body: `<< /Type /Annot /Subtype /Link ${rect} /Border [0 0 0] /A ${js} >>` }],
    },
    formFieldJavaScript: {
      catalog: '/AcroForm << /Fields [6 0 R] >>',
      page: '/Annots [6 0 R]',
      extra: [
        {
          body: `<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) ${rect} /P 3 0 R /AA << /K ${js} >> >>`,
        },
      ],
    },
    embeddedFile: {
      catalog: '/Names << /EmbeddedFiles << /Names [(invoice.exe) 6 0 R] >> >>',
      extra: [
        { body: '<< /Type /Filespec /F (invoice.exe) /UF (invoice.exe) /EF << /F 7 0 R >> >>' },
        { body: '<<', stream: latin1('MZ not really a program') },
      ],
    },
    fileAttachmentAnnotation: {
      page: '/Annots [6 0 R]',
      extra: [
        { body: `<< /Type /Annot /Subtype /FileAttachment ${rect} /FS 7 0 R /Name /Paperclip >>` },
        { body: '<< /Type /Filespec /F (invoice.exe) /UF (invoice.exe) /EF << /F 8 0 R >> >>' },
        { body: '<<', stream: latin1('MZ not really a program') },
      ],
    },
    xfa: {
      catalog: '/AcroForm << /Fields [] /XFA 6 0 R >>',
      extra: [
        {
          body: '<<',
          stream: latin1(
            '<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform/></template></xdp:xdp>',
          ),
        },
      ],
    },
    richMedia: {
      page: '/Annots [6 0 R]',
      extra: [{ body: `<< /Type /Annot /Subtype /RichMedia ${rect} >>` }],
    },
  };
  const variant = variants[content];
  return assemblePdf({
    objectStream: 'asciihex-flate',
    objects: [
      { body: `<< /Type /Catalog /Pages 2 0 R ${variant.catalog ?? ''} >>` },
      ...singlePageObjects(`Active content: ${content}`, variant.page),
      ...variant.extra,
    ],
  });
}

/**
 * A harmless letter whose objects sit in a RunLength-encoded object stream: valid, and read by
 * pdf.js, but in an encoding the byte scan does not decode, so it must refuse it.
 */
export function buildPdfWithRunLengthObjectStream(): Uint8Array {
  return assemblePdf({
    objectStream: 'runlength',
    objects: [{ body: '<< /Type /Catalog /Pages 2 0 R >>' }, ...singlePageObjects('RunLength')],
  });
}

/**
 * A valid but hostile PDF that is slow to inspect: many pages, each with a flood of
 * annotations (about 1 s of pdf.js time per 100 000 annotations on a 2020s CPU).
 */
export function buildAnnotationFloodPdf(
  options: { pages?: number; annotationsPerPage?: number } = {},
): Uint8Array {
  const pages = options.pages ?? 100;
  const perPage = options.annotationsPerPage ?? 1000;
  const annotation = '<< /Type /Annot /Subtype /Square /Rect [10 10 20 20] /C [1 0 0] >>';
  const annotations = `[${Array(perPage).fill(annotation).join(' ')}]`;
  const kids = Array.from({ length: pages }, (_, index) => `${index + 3} 0 R`).join(' ');
  return assemblePdf({
    objects: [
      { body: '<< /Type /Catalog /Pages 2 0 R >>' },
      { body: `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>` },
      ...Array.from({ length: pages }, () => ({
        body: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots ${annotations} >>`,
      })),
    ],
  });
}

/** Bytes that are not a PDF at all. */
export function notAPdf(): Uint8Array {
  return new TextEncoder().encode('<html><body>Not a PDF, an HTML page.</body></html>\n');
}

/** The first half of a valid 3-page PDF: no cross-reference section, no %%EOF. */
export async function truncatedPdf(): Promise<Uint8Array> {
  const whole = await buildPdf({ pages: 3, targetBytes: 30_000 });
  return whole.slice(0, Math.floor(whole.byteLength / 2));
}

/** A PDF header and end marker around bytes that are no PDF structure. */
export function garbledPdf(): Uint8Array {
  return latin1(`%PDF-1.7\n${'this is not a pdf object '.repeat(40)}\n%%EOF\n`);
}

// --- Hand assembly -------------------------------------------------------------------------

interface AssembledObject {
  /** A dictionary or other object. With `stream`, a dictionary opening (`<<` + entries): `/Length` and `>>` are appended. */
  body: string;
  /** Stream data, written unfiltered. Objects with a stream are never put in an object stream. */
  stream?: Uint8Array;
}

/** Objects 2 (Pages), 3 (Page), 4 (content stream), 5 (font) of a one-page letter. */
function singlePageObjects(text: string, pageEntries = ''): AssembledObject[] {
  return [
    { body: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' },
    {
      body: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> ${pageEntries} >>`,
    },
    { body: '<<', stream: latin1(`BT /F1 20 Tf 50 780 Td (${text}) Tj ET`) },
    { body: '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>' },
  ];
}

/**
 * Writes objects 1..n (object 1 is the catalog) with a correct cross-reference section.
 * Without `objectStream`: a classic xref table. With it: every object without stream data
 * goes into one object stream (filtered as named), indexed by a cross-reference stream.
 */
function assemblePdf(options: {
  objects: AssembledObject[];
  objectStream?: 'flate' | 'asciihex-flate' | 'runlength';
  /** Bytes of harmless text added to the object stream's dictionary. */
  objectStreamPadding?: number;
  trailer?: string;
}): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const write = (chunk: Uint8Array | string) => {
    const bytes = typeof chunk === 'string' ? latin1(chunk) : chunk;
    chunks.push(bytes);
    length += bytes.byteLength;
  };
  const writeObject = (number: number, object: AssembledObject) => {
    write(`${number} 0 obj\n`);
    if (object.stream) {
      write(`${object.body} /Length ${object.stream.byteLength} >>\nstream\n`);
      write(object.stream);
      write('\nendstream');
    } else {
      write(object.body);
    }
    write('\nendobj\n');
  };

  write('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n');
  const offsets = new Map<number, number>();
  const count = options.objects.length;

  if (!options.objectStream) {
    options.objects.forEach((object, index) => {
      offsets.set(index + 1, length);
      writeObject(index + 1, object);
    });
    const xref = length;
    write(`xref\n0 ${count + 1}\n0000000000 65535 f \n`);
    for (let number = 1; number <= count; number += 1) {
      write(`${String(offsets.get(number)).padStart(10, '0')} 00000 n \n`);
    }
    write(`trailer\n<< /Size ${count + 1} /Root 1 0 R ${options.trailer ?? ''} >>\n`);
    write(`startxref\n${xref}\n%%EOF\n`);
    return concat(chunks, length);
  }

  // Object stream (ISO 32000-1 §7.5.7): "number offset" pairs, then the objects themselves.
  const objStmNumber = count + 1;
  const xrefNumber = count + 2;
  const compressed = new Map<number, number>(); // object number -> index in the object stream
  const header: string[] = [];
  let objects = '';
  options.objects.forEach((object, index) => {
    if (object.stream) return;
    compressed.set(index + 1, compressed.size);
    header.push(`${index + 1} ${objects.length}`);
    objects += `${object.body}\n`;
  });
  const headerText = `${header.join(' ')}\n`;
  const plain = latin1(headerText + objects);
  const { data: filtered, filter } = {
    flate: () => ({ data: deflateSync(plain), filter: '/FlateDecode' }),
    'asciihex-flate': () => ({
      data: latin1(`${Buffer.from(deflateSync(plain)).toString('hex')}>`),
      filter: '[/ASCIIHexDecode /FlateDecode]',
    }),
    runlength: () => ({ data: runLengthEncode(plain), filter: '/RunLengthDecode' }),
  }[options.objectStream]();

  options.objects.forEach((object, index) => {
    if (!object.stream) return;
    offsets.set(index + 1, length);
    writeObject(index + 1, object);
  });
  offsets.set(objStmNumber, length);
  writeObject(objStmNumber, {
    body: `<< /Type /ObjStm /N ${compressed.size} /First ${headerText.length} /Filter ${filter}${
      options.objectStreamPadding
        ? ` /Padding (${'pad '.repeat(options.objectStreamPadding / 4)})`
        : ''
    }`,
    stream: filtered,
  });

  // Cross-reference stream (§7.5.8), unfiltered, with /W [1 4 2].
  const size = xrefNumber + 1;
  const rows = new Uint8Array(size * 7);
  const view = new DataView(rows.buffer);
  for (let number = 0; number < size; number += 1) {
    const at = number * 7;
    const index = compressed.get(number);
    if (number === 0) {
      view.setUint8(at, 0);
      view.setUint16(at + 5, 0xffff);
    } else if (index !== undefined) {
      view.setUint8(at, 2);
      view.setUint32(at + 1, objStmNumber);
      view.setUint16(at + 5, index);
    } else {
      const offset = number === xrefNumber ? length : offsets.get(number);
      if (offset === undefined) throw new Error(`object ${number} was not written`);
      view.setUint8(at, 1);
      view.setUint32(at + 1, offset);
    }
  }
  const xref = length;
  writeObject(xrefNumber, {
    body: `<< /Type /XRef /Size ${size} /W [1 4 2] /Root 1 0 R ${options.trailer ?? ''}`,
    stream: rows,
  });
  write(`startxref\n${xref}\n%%EOF\n`);
  return concat(chunks, length);
}

/** RunLengthDecode's format (§7.4.5), literal runs only: a length byte n-1, n bytes; 128 ends. */
function runLengthEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let at = 0; at < data.length; at += 128) {
    const run = data.subarray(at, at + 128);
    out.push(run.length - 1, ...run);
  }
  out.push(128);
  return new Uint8Array(out);
}

function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

// --- Decompression bombs -------------------------------------------------------------------

const MiB = 1024 * 1024;

/**
 * zlib data (RFC 1950) that inflates to `bytes` zero bytes, built in milliseconds however large
 * `bytes` is: one mebibyte of zeros deflated with a full flush (so the segment stands alone and
 * can be repeated), repeated, then an empty final block, and the right Adler-32 of zeros.
 * Inflating it takes ~1 KB per MiB of output: 4 GiB from 4 MB.
 */
export function zerosDeflated(bytes: number): Uint8Array {
  if (bytes % MiB !== 0) throw new Error('a whole number of MiB');
  const segment = deflateRawSync(Buffer.alloc(MiB), {
    level: 9,
    finishFlush: constants.Z_FULL_FLUSH,
  });
  const finalEmptyBlock = Buffer.from([0x03, 0x00]);
  // Adler-32 of n zeros: a stays 1, b adds a (1) n times.
  const adler = Buffer.alloc(4);
  adler.writeUInt16BE(bytes % 65521, 0);
  adler.writeUInt16BE(1, 2);
  const parts = [
    Buffer.from([0x78, 0xda]),
    ...Array(bytes / MiB).fill(segment),
    finalEmptyBlock,
    adler,
  ];
  return new Uint8Array(Buffer.concat(parts));
}

/** `data` wrapped in one more zlib layer: with `zerosDeflated`, a Flate-of-Flate bomb. */
function deflatedAgain(data: Uint8Array): Uint8Array {
  return new Uint8Array(deflateSync(data, { level: 9 }));
}

/** The kinds of decompression bomb that `buildBombPdf` builds. */
export type BombKind =
  | 'metadataFlateOfFlate'
  | 'contentStreamWithLink'
  | 'flateImage'
  | 'dctImageDimensions'
  | 'sharedAppearanceStream';

/**
 * A small PDF that expands enormously when a reader decodes one of its streams:
 * - `metadataFlateOfFlate`: XMP metadata behind `[/FlateDecode /FlateDecode]`, 4 GiB decoded,
 *   from a file of a few kilobytes (the attack measured on the server).
 * - `contentStreamWithLink`: a page whose content stream inflates to 1 GiB, with a link
 *   annotation (pdf.js reads page content to place annotations).
 * - `flateImage`: an image declared as 1000 × 1000 RGB whose data inflates to 1 GiB.
 * - `dctImageDimensions`: a JPEG image that declares 100 000 × 100 000 pixels (40 GB as RGBA
 *   in a viewer) in its dictionary and its own header, in a few hundred bytes.
 * - `sharedAppearanceStream`: one appearance stream (a form XObject) inflating to 256 MiB,
 *   shared by 200 annotations, each of which a viewer draws.
 */
export function buildBombPdf(kind: BombKind): Uint8Array {
  const page = (entries: string) => ({
    body: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] ${entries} >>`,
  });
  const pages = { body: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' };
  const streamObject = (dictionary: string, data: Uint8Array) => ({
    body: `<< ${dictionary}`,
    stream: data,
  });
  switch (kind) {
    case 'metadataFlateOfFlate':
      return assemblePdf({
        objects: [
          { body: '<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>' },
          pages,
          page(''),
          streamObject(
            '/Type /Metadata /Subtype /XML /Filter [/FlateDecode /FlateDecode]',
            deflatedAgain(zerosDeflated(4096 * MiB)),
          ),
        ],
      });
    case 'contentStreamWithLink':
      return assemblePdf({
        objects: [
          { body: '<< /Type /Catalog /Pages 2 0 R >>' },
          pages,
          page('/Contents 4 0 R /Annots [5 0 R]'),
          streamObject('/Filter /FlateDecode', zerosDeflated(1024 * MiB)),
          {
            body: '<< /Type /Annot /Subtype /Link /Rect [50 600 250 640] /Border [0 0 0] /A << /S /URI /URI (https://example.com/) >> >>',
          },
        ],
      });
    case 'flateImage':
      return assemblePdf({
        objects: [
          { body: '<< /Type /Catalog /Pages 2 0 R >>' },
          pages,
          page('/Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >>'),
          { body: '<<', stream: latin1('q 500 0 0 500 50 300 cm /Im1 Do Q') },
          streamObject(
            '/Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode',
            zerosDeflated(1024 * MiB),
          ),
        ],
      });
    case 'dctImageDimensions':
      return assemblePdf({
        objects: [
          { body: '<< /Type /Catalog /Pages 2 0 R >>' },
          pages,
          page('/Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >>'),
          { body: '<<', stream: latin1('q 500 0 0 500 50 300 cm /Im1 Do Q') },
          streamObject(
            '/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode',
            jpegHeader(100_000, 100_000),
          ),
        ],
      });
    case 'sharedAppearanceStream': {
      const annotations = Array.from({ length: 200 }, (_, index) => {
        const x = 20 + (index % 20) * 28;
        const y = 100 + Math.floor(index / 20) * 60;
        return `<< /Type /Annot /Subtype /Square /Rect [${x} ${y} ${x + 20} ${y + 20}] /AP << /N 5 0 R >> >>`;
      });
      return assemblePdf({
        objects: [
          { body: '<< /Type /Catalog /Pages 2 0 R >>' },
          pages,
          page(`/Contents 4 0 R /Annots [${annotations.join(' ')}]`),
          { body: '<<', stream: latin1('') },
          streamObject(
            '/Type /XObject /Subtype /Form /BBox [0 0 20 20] /Filter /FlateDecode',
            zerosDeflated(256 * MiB),
          ),
        ],
      });
    }
  }
}

/**
 * The start of a baseline JPEG (ITU T.81): SOI, then a start-of-frame marker declaring
 * `width` × `height` pixels in three components. No image data follows: a viewer sizes its
 * buffers from this header before it reads any.
 */
function jpegHeader(width: number, height: number): Uint8Array {
  const frame = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    0x01,
    0x11,
    0x00,
    0x02,
    0x11,
    0x00,
    0x03,
    0x11,
    0x00,
  ]);
  // 100 000 does not fit 16 bits: the marker holds what fits, the dictionary the rest.
  frame.writeUInt16BE(Math.min(height, 0xffff), 5);
  frame.writeUInt16BE(Math.min(width, 0xffff), 7);
  return new Uint8Array(
    Buffer.concat([Buffer.from([0xff, 0xd8]), frame, Buffer.from([0xff, 0xd9])]),
  );
}

/**
 * JavaScript in a link annotation, inside a Flate object stream whose dictionary is padded past
 * 64 KiB with a string of harmless text (a byte scan that reads dictionaries only up to 64 KiB
 * never decodes it; pdf.js reads it, and does not report link JavaScript).
 */
export function buildPdfWithPaddedObjectStream(): Uint8Array {
  return assemblePdf({
    objectStream: 'flate',
    objectStreamPadding: 70 * 1024,
    objects: [
      { body: '<< /Type /Catalog /Pages 2 0 R >>' },
      ...singlePageObjects('Padded', '/Annots [6 0 R]'),
      {
        body: '<< /Type /Annot /Subtype /Link /Rect [50 600 250 640] /Border [0 0 0] /A << /S /JavaScript /JS (app.alert\\(1\\)) >> >>',
      },
    ],
  });
}

/**
 * A scanned letter as a scanner makes it: one A4 page holding one 300 dpi RGB image
 * (2480 × 3508 pixels, 26 MB of pixel data, Flate-compressed), paper white with lines of
 * darker "text" noise.
 */
export function buildScannedLetterPdf(): Uint8Array {
  const width = 2480;
  const height = 3508;
  const row = width * 3;
  const pixels = Buffer.alloc(row * height, 0xf4);
  const random = seededRandom(0x5ca1_ab1e);
  for (let y = 300; y < height - 300; y += 1) {
    if (Math.floor(y / 40) % 2 === 0 || y % 40 > 28) continue; // lines of text, 40 px apart
    for (let x = 250; x < width - 250; x += 1) {
      if ((random() & 7) === 0)
        pixels.fill(0x20 + (random() & 0x3f), y * row + x * 3, y * row + x * 3 + 3);
    }
  }
  return assemblePdf({
    objects: [
      { body: '<< /Type /Catalog /Pages 2 0 R >>' },
      { body: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' },
      {
        body: '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Scan 5 0 R >> >> >>',
      },
      { body: '<<', stream: latin1('q 595 0 0 842 0 0 cm /Scan Do Q') },
      {
        body: `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`,
        stream: new Uint8Array(deflateSync(pixels, { level: 6 })),
      },
    ],
  });
}
