import type { QueryClient } from '@tanstack/react-query';
import { lazy } from 'react';
import { createBrowserRouter } from 'react-router';
import { api } from './api';
import { Layout } from './components/Layout';
import { RequireSession } from './components/RequireSession';
import { ErrorPage } from './pages/ErrorPage';
import { InboxPage } from './pages/InboxPage';
import { LoginMethodsPage } from './pages/LoginMethodsPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { clearSessionData } from './queries';
import { loginPath } from './return-to';

// The letter view brings pdf.js (the largest part of the app): load it only when needed.
const LetterPage = lazy(() =>
  import('./pages/LetterPage').then((module) => ({ default: module.LetterPage })),
);

/**
 * Routes:
 *   /login            login (national identity number, password, authenticator code)
 *   /                 inbox                 (needs a session)
 *   /letters/:id      one letter, its PDF   (needs a session)
 *   /settings/methods login methods         (needs a session; until the settings page holds them)
 *   *                 not found
 */
export function createAppRouter(queryClient: QueryClient) {
  const router = createBrowserRouter([
    {
      element: <Layout />,
      errorElement: <ErrorPage />,
      children: [
        { path: '/login', element: <LoginPage /> },
        {
          element: <RequireSession />,
          children: [
            { index: true, element: <InboxPage /> },
            { path: '/letters/:id', element: <LetterPage /> },
            { path: '/settings/methods', element: <LoginMethodsPage /> },
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
