import type { QueryClient } from '@tanstack/react-query';
import { lazy } from 'react';
import { createBrowserRouter } from 'react-router';
import { api } from './api';
import { Layout } from './components/Layout';
import { RequireSession } from './components/RequireSession';
import { EidDonePage, EidRefusedPage } from './pages/EidPages';
import { ErrorPage } from './pages/ErrorPage';
import { InboxPage } from './pages/InboxPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RegisterPage } from './pages/RegisterPage';
import { SettingsPage } from './pages/SettingsPage';
import { clearSessionData } from './queries';
import { loginPath } from './return-to';

// The letter view brings pdf.js (the largest part of the app): load it only when needed.
const LetterPage = lazy(() =>
  import('./pages/LetterPage').then((module) => ({ default: module.LetterPage })),
);

/**
 * Routes:
 *   /login            login (eID; national identity number, password, authenticator code)
 *   /login/eid-done   after eID login or step-up: on to the return path
 *   /login/eid-refused  one page for every refused eID login
 *   /register         first eID login: terms, language, notification addresses
 *   /                 inbox                 (needs a session)
 *   /letters/:id      one letter, its PDF   (needs a session)
 *   /settings         security settings     (needs a session)
 *   *                 not found
 */
export function createAppRouter(queryClient: QueryClient) {
  const router = createBrowserRouter([
    {
      element: <Layout />,
      errorElement: <ErrorPage />,
      children: [
        { path: '/login', element: <LoginPage /> },
        { path: '/login/eid-done', element: <EidDonePage /> },
        { path: '/login/eid-refused', element: <EidRefusedPage /> },
        { path: '/register', element: <RegisterPage /> },
        {
          element: <RequireSession />,
          children: [
            { index: true, element: <InboxPage /> },
            { path: '/letters/:id', element: <LetterPage /> },
            { path: '/settings', element: <SettingsPage /> },
          ],
        },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);

  // A 401 from a protected call: the session expired or was revoked. Forget what it showed and
  // log in again, coming back here afterwards.
  api.setUnauthorizedHandler(() => {
    const { pathname, search } = router.state.location;
    clearSessionData(queryClient);
    if (pathname !== '/login')
      void router.navigate(loginPath(`${pathname}${search}`), { replace: true });
  });

  return router;
}
