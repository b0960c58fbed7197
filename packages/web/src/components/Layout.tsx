import { Suspense, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Outlet, useLocation, useNavigationType } from 'react-router';
import { useSession } from '../queries';
import { LanguageSwitch } from './LanguageSwitch';
import { LogoutButton } from './LogoutButton';
import { OutdatedBrowserNotice } from './OutdatedBrowserNotice';

/**
 * The frame of every page (promise 8): the skip link is the first thing to focus, then the
 * outdated-browser notice when needed, the header with the language switch and logout, and the
 * main region the skip link targets.
 */
export function Layout() {
  const { t } = useTranslation();
  const session = useSession();
  const mainRef = useRef<HTMLElement>(null);
  const location = useLocation();
  const navigationType = useNavigationType();
  const firstRender = useRef(true);

  // After the user moves to another page in the app, put focus on the new content, as a page
  // load would. Not on the first load nor on redirects, so the skip link stays the first stop.
  const wantsFocus = (location.state as { focusMain?: boolean } | null)?.focusMain === true;
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every change of page
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    // A page that put focus somewhere in itself (its heading) keeps it.
    const main = mainRef.current;
    if (main?.contains(document.activeElement) && document.activeElement !== main) return;
    if (navigationType !== 'REPLACE' || wantsFocus) main?.focus();
  }, [location.pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        {t('skipLink')}
      </a>
      <OutdatedBrowserNotice />
      <header className="site-header">
        <div className="wrap site-header-inner">
          <Link to="/" className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <span className="brand-name">{t('app.name')}</span>
            <span className="brand-tagline">{t('app.tagline')}</span>
          </Link>
          <div className="header-tools">
            {session.data ? (
              <Link to="/settings" className="header-link">
                {t('settings.navLink')}
              </Link>
            ) : null}
            <LanguageSwitch />
            {session.data ? <LogoutButton /> : null}
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={mainRef} className="wrap site-main">
        <Suspense fallback={<p className="status">{t('common.loading')}</p>}>
          <Outlet />
        </Suspense>
      </main>
      <footer className="site-footer">
        <div className="wrap">
          <p>{t('footer.safety')}</p>
        </div>
      </footer>
    </>
  );
}
