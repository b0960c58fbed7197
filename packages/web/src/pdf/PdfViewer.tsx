import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { PDFDocumentProxy, RenderTask } from './pdfjs';

/** Pages are never drawn wider than this (CSS pixels), however wide the window. */
const maxPageWidth = 860;

function useContainerWidth() {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => {
      const next = Math.min(maxPageWidth, Math.floor(element.clientWidth));
      // Small changes (a scrollbar appearing) are not worth drawing every page again.
      setWidth((current) => (Math.abs(current - next) > 24 || current === 0 ? next : current));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

interface PdfViewerProps {
  bytes: ArrayBuffer;
  /** Called once, when the first page has been drawn. */
  onFirstPageRendered?: (() => void) | undefined;
}

/** Draws a PDF with pdf.js onto one canvas per page, in order. */
export function PdfViewer({ bytes, onFirstPageRendered }: PdfViewerProps) {
  const { t } = useTranslation();
  const { ref, width } = useContainerWidth();
  const [pdf, setPdf] = useState<PDFDocumentProxy | null>(null);
  const [failed, setFailed] = useState(false);
  const firstReported = useRef(false);

  useEffect(() => {
    let cancelled = false;
    let destroy: (() => Promise<void>) | undefined;
    setPdf(null);
    setFailed(false);
    (async () => {
      const { openPdf } = await import('./pdfjs');
      if (cancelled) return;
      const task = openPdf(bytes);
      destroy = () => task.destroy();
      const document = await task.promise;
      if (!cancelled) setPdf(document);
    })().catch(() => {
      if (!cancelled) setFailed(true);
    });
    return () => {
      cancelled = true;
      void destroy?.();
    };
  }, [bytes]);

  if (failed) {
    return (
      <p className="callout callout-error" role="alert">
        {t('letter.renderFailed')}
      </p>
    );
  }

  const pages = pdf ? Array.from({ length: pdf.numPages }, (_, index) => index + 1) : [];
  return (
    <div ref={ref} className="pdf-viewer" aria-busy={!pdf}>
      {!pdf ? <p className="status">{t('letter.loadingDocument')}</p> : null}
      {pdf && width > 0
        ? pages.map((pageNumber) => (
            <PdfPage
              key={pageNumber}
              pdf={pdf}
              pageNumber={pageNumber}
              pageCount={pages.length}
              width={width}
              onRendered={() => {
                if (pageNumber === 1 && !firstReported.current) {
                  firstReported.current = true;
                  onFirstPageRendered?.();
                }
              }}
              onFailed={() => setFailed(true)}
            />
          ))
        : null}
    </div>
  );
}

interface PdfPageProps {
  pdf: PDFDocumentProxy;
  pageNumber: number;
  pageCount: number;
  width: number;
  onRendered: () => void;
  onFailed: () => void;
}

function PdfPage({ pdf, pageNumber, pageCount, width, onRendered, onFailed }: PdfPageProps) {
  const { t } = useTranslation();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [rendered, setRendered] = useState(false);
  const [text, setText] = useState('');
  const callbacks = useRef({ onRendered, onFailed });
  callbacks.current = { onRendered, onFailed };

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    let cancelled = false;
    let task: RenderTask | undefined;
    (async () => {
      const page = await pdf.getPage(pageNumber);
      if (cancelled) return;
      const natural = page.getViewport({ scale: 1 });
      const viewport = page.getViewport({ scale: width / natural.width });
      // Draw at the screen's real resolution so text stays sharp on high-density displays.
      const ratio = Math.min(window.devicePixelRatio || 1, 3);
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      task = page.render({
        canvas,
        viewport,
        ...(ratio !== 1 ? { transform: [ratio, 0, 0, ratio, 0, 0] } : {}),
      });
      await task.promise;
      if (cancelled) return;
      setRendered(true);
      callbacks.current.onRendered();
      // The canvas is a picture; its text goes next to it for screen readers.
      const content = await page.getTextContent();
      if (cancelled) return;
      setText(
        content.items
          .map((item) => ('str' in item ? `${item.str}${item.hasEOL ? '\n' : ''}` : ''))
          .join('')
          .trim(),
      );
    })().catch((error: unknown) => {
      if (cancelled || (error instanceof Error && error.name === 'RenderingCancelledException')) {
        return;
      }
      callbacks.current.onFailed();
    });
    return () => {
      cancelled = true;
      task?.cancel();
    };
  }, [pdf, pageNumber, width]);

  const label = t('letter.pageLabel', { page: pageNumber, total: pageCount });
  return (
    <figure className="pdf-page" aria-label={label}>
      <canvas
        ref={canvasRef}
        data-testid="pdf-page"
        data-page={pageNumber}
        data-rendered={rendered ? 'true' : undefined}
      />
      {text ? <div className="visually-hidden">{text}</div> : null}
    </figure>
  );
}
