import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, isApiError, type Letter, type LetterDocument } from '../api';
import { useDocumentTitle } from '../components/DocumentTitle';
import { ErrorMessage } from '../components/ErrorMessage';
import { saveBytes } from '../download';
import { formatBytes, formatFullDate } from '../format';
import { currentLocale } from '../i18n';
import { PdfViewer } from '../pdf/PdfViewer';
import { queryKeys } from '../queries';
import { StepUpNotice } from './EidPages';

const pdfType = 'application/pdf';

/** The letter view: loaded only when a letter is opened, since it brings pdf.js along. */
export function LetterPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const letter = useQuery<Letter>({
    queryKey: queryKeys.letter(id),
    queryFn: ({ signal }) => api.getLetter(id, signal),
    // The inbox already knows the subject and sender: show them at once.
    placeholderData: () =>
      queryClient.getQueryData<Letter[]>(queryKeys.letters)?.find((item) => item.id === id),
  });
  useDocumentTitle(letter.data?.subject ?? t('letter.title'));

  const markRead = useMutation({
    mutationFn: () => api.markRead(id),
    onSuccess: () => {
      const readAt = new Date().toISOString();
      queryClient.setQueryData<Letter>(queryKeys.letter(id), (current) =>
        current ? { ...current, readAt: current.readAt ?? readAt } : current,
      );
      queryClient.setQueryData<Letter[]>(queryKeys.letters, (current) =>
        current?.map((item) =>
          item.id === id ? { ...item, readAt: item.readAt ?? readAt } : item,
        ),
      );
    },
  });
  const markedRead = useRef(false);
  const wasUnread = letter.data?.readAt === null;
  const { mutate: sendRead } = markRead;
  const onOpened = useCallback(() => {
    if (markedRead.current || !wasUnread) return;
    markedRead.current = true;
    sendRead();
  }, [wasUnread, sendRead]);

  const documents = letter.data?.documents ?? [];
  const hasPdf = documents.some((document) => document.contentType === pdfType);
  // A letter with nothing to draw counts as read once it is shown.
  useEffect(() => {
    if (letter.isSuccess && !letter.isPlaceholderData && !hasPdf) onOpened();
  }, [letter.isSuccess, letter.isPlaceholderData, hasPdf, onOpened]);

  const back = (
    <p className="back-link">
      <Link to="/">{t('letter.back')}</Link>
    </p>
  );

  if (letter.isError) {
    const required =
      isApiError(letter.error) && letter.error.code === 'step_up_required'
        ? letter.error.requiredLevel
        : undefined;
    if (required === 'eid-substantial' || required === 'eid-high') {
      return (
        <div>
          {back}
          <StepUpNotice letterId={id} level={required} />
        </div>
      );
    }
    const notFound = isApiError(letter.error) && letter.error.status === 404;
    return (
      <div>
        {back}
        {notFound ? (
          <div className="message-page">
            <h1>{t('letter.notFound.title')}</h1>
            <p>{t('letter.notFound.body')}</p>
          </div>
        ) : (
          <>
            <h1>{t('letter.title')}</h1>
            <ErrorMessage error={letter.error} onRetry={() => void letter.refetch()} />
          </>
        )}
      </div>
    );
  }
  if (!letter.data) return <p className="status">{t('letter.loading')}</p>;

  const locale = currentLocale();
  const { data } = letter;
  const firstPdf = documents.find((document) => document.contentType === pdfType);
  return (
    <article className="letter" aria-labelledby="letter-title">
      {back}
      <header className="letter-header">
        <h1 id="letter-title">{data.subject}</h1>
        <dl className="letter-meta">
          <div>
            <dt>{t('letter.from')}</dt>
            <dd>{data.sender.name}</dd>
          </div>
          <div>
            <dt>{t('letter.received')}</dt>
            <dd>
              <time dateTime={data.deliveredAt}>{formatFullDate(data.deliveredAt, locale)}</time>
            </dd>
          </div>
        </dl>
      </header>
      {letter.isPlaceholderData ? <p className="status">{t('letter.loading')}</p> : null}
      {!letter.isPlaceholderData
        ? documents.map((document) => (
            <DocumentView
              key={document.id}
              letterId={data.id}
              document={document}
              showTitle={documents.length > 1}
              onFirstPageRendered={document === firstPdf ? onOpened : undefined}
            />
          ))
        : null}
    </article>
  );
}

interface DocumentViewProps {
  letterId: string;
  document: LetterDocument;
  showTitle: boolean;
  onFirstPageRendered?: (() => void) | undefined;
}

function DocumentView({ letterId, document, showTitle, onFirstPageRendered }: DocumentViewProps) {
  const { t } = useTranslation();
  const isPdf = document.contentType === pdfType;
  const content = useQuery({
    queryKey: queryKeys.document(letterId, document.id),
    queryFn: ({ signal }) => api.getDocumentContent(letterId, document.id, signal),
    enabled: isPdf,
    // The bytes are the letter itself: keep them while the letter is open, not after.
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 0,
    structuralSharing: false,
  });
  const fetchForDownload = useMutation({
    mutationFn: () => api.getDocumentContent(letterId, document.id),
    onSuccess: (bytes) => saveBytes(bytes, document.filename, document.contentType),
  });

  const size = formatBytes(document.sizeBytes, currentLocale());
  const titleId = `document-${document.id}`;
  return (
    <section className="document" aria-labelledby={showTitle ? titleId : undefined}>
      <div className="document-bar">
        {showTitle ? (
          <h2 id={titleId} className="document-title">
            {document.filename}
          </h2>
        ) : (
          <p className="document-title">{document.filename}</p>
        )}
        <button
          type="button"
          className="button button-secondary"
          disabled={isPdf ? !content.data : fetchForDownload.isPending}
          onClick={() => {
            if (isPdf && content.data) saveBytes(content.data, document.filename, pdfType);
            else if (!isPdf) fetchForDownload.mutate();
          }}
        >
          {t('letter.download', { size })}
        </button>
      </div>
      {fetchForDownload.isError ? <ErrorMessage error={fetchForDownload.error} /> : null}
      {isPdf && content.isPending ? <p className="status">{t('letter.loadingDocument')}</p> : null}
      {isPdf && content.isError ? (
        <ErrorMessage error={content.error} onRetry={() => void content.refetch()} />
      ) : null}
      {isPdf && content.data ? (
        <PdfViewer bytes={content.data} onFirstPageRendered={onFirstPageRendered} />
      ) : null}
    </section>
  );
}
