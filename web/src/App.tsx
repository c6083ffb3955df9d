import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useState, type ReactNode } from "react";
import { ApiError, type AlertEvent } from "./api/client";
import { signOut, useToken } from "./auth/session";
import { Link } from "./components/Link";
import { Toasts, type Toast } from "./components/Toasts";
import { useLiveEvents } from "./hooks/useLiveEvents";
import { AccountsPage } from "./pages/AccountsPage";
import { AlertsPage } from "./pages/AlertsPage";
import { AnalyticsPage } from "./pages/AnalyticsPage";
import { ExportsPage } from "./pages/ExportsPage";
import { ClustersPage } from "./pages/ClustersPage";
import { InboxPage } from "./pages/InboxPage";
import { OperatorsPage } from "./pages/OperatorsPage";
import { SchedulesPage } from "./pages/SchedulesPage";
import { SendersPage } from "./pages/SendersPage";
import { SignInPage } from "./pages/SignInPage";
import { StartWorkPage } from "./pages/StartWorkPage";
import { TaskDetailPage } from "./pages/TaskDetailPage";
import { TasksPage } from "./pages/TasksPage";
import { WorkflowDetailPage } from "./pages/WorkflowDetailPage";
import { WorkflowsPage } from "./pages/WorkflowsPage";
import { useLocation } from "./router";
import { unreadAlertsQuery } from "./services/alerts";
import { isAdminQuery } from "./services/queues";

function newQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        // Client errors will not heal by asking again.
        retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
      },
    },
  });
}

type Route = { name: string; title: string; page: ReactNode };

function route(path: string): Route {
  const task = /^\/tasks\/(\d+)\/?$/.exec(path);
  if (task) {
    const id = Number(task[1]);
    return { name: "task", title: `Task #${id}`, page: <TaskDetailPage key={id} id={id} /> };
  }
  const workflow = /^\/workflows\/(\d+)\/?$/.exec(path);
  if (workflow) {
    const id = Number(workflow[1]);
    return { name: "workflow", title: `Workflow #${id}`, page: <WorkflowDetailPage key={id} id={id} /> };
  }
  switch (path) {
    case "/":
    case "/tasks":
      return { name: "tasks", title: "Tasks", page: <TasksPage /> };
    case "/workflows":
      return { name: "workflows", title: "Workflows", page: <WorkflowsPage /> };
    case "/inbox":
      return { name: "inbox", title: "Inbox", page: <InboxPage /> };
    case "/clusters":
      return { name: "clusters", title: "Clusters", page: <ClustersPage /> };
    case "/senders":
      return { name: "senders", title: "Senders", page: <SendersPage /> };
    case "/start":
      return { name: "start", title: "Start work", page: <StartWorkPage /> };
    case "/schedules":
      return { name: "schedules", title: "Schedules", page: <SchedulesPage /> };
    case "/alerts":
      return { name: "alerts", title: "Alerts", page: <AlertsPage /> };
    case "/analytics":
      return { name: "analytics", title: "Analytics", page: <AnalyticsPage /> };
    case "/exports":
      return { name: "exports", title: "Exports", page: <ExportsPage /> };
    // Google's consent comes back here (?connected=EMAIL or ?error=CODE).
    case "/accounts":
      return { name: "accounts", title: "Accounts", page: <AccountsPage /> };
    case "/operators":
      return { name: "operators", title: "Operators", page: <OperatorsPage /> };
    default:
      return {
        name: "missing",
        title: "Not found",
        page: (
          <section>
            <h1 tabIndex={-1}>Not found</h1>
            <p>
              There is no page at <code>{path}</code>. <Link to="/">Go to the tasks.</Link>
            </p>
          </section>
        ),
      };
  }
}

function NavLink({ to, current, children }: { to: string; current: boolean; children: ReactNode }) {
  return (
    <Link to={to} aria-current={current ? "page" : undefined}>
      {children}
    </Link>
  );
}

function Shell() {
  const { path } = useLocation();
  const r = route(path);
  const admin = useQuery(isAdminQuery);
  const unread = useQuery(unreadAlertsQuery);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const dismiss = useCallback((key: string) => setToasts((ts) => ts.filter((t) => t.key !== key)), []);
  const stream = useLiveEvents(true, (a: AlertEvent) =>
    setToasts((ts) => [...ts.filter((t) => t.alert.id !== a.id), { key: `${a.id}-${a.at}`, alert: a }].slice(-4)),
  );

  useEffect(() => {
    document.title = `${r.title} · inboxq`;
    // Move focus to the new page's heading, so screen readers announce it.
    document.querySelector<HTMLElement>("main h1")?.focus({ preventScroll: true });
  }, [r.title, path]);

  const unreadCount = unread.data?.length ?? 0;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          inboxq
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" current={r.name === "tasks" || r.name === "task"}>
            Tasks
          </NavLink>
          <NavLink to="/workflows" current={r.name === "workflows" || r.name === "workflow"}>
            Workflows
          </NavLink>
          <NavLink to="/inbox" current={r.name === "inbox"}>
            Inbox
          </NavLink>
          <NavLink to="/clusters" current={r.name === "clusters"}>
            Clusters
          </NavLink>
          <NavLink to="/senders" current={r.name === "senders"}>
            Senders
          </NavLink>
          <NavLink to="/start" current={r.name === "start"}>
            Start work
          </NavLink>
          <NavLink to="/schedules" current={r.name === "schedules"}>
            Schedules
          </NavLink>
          <NavLink to="/alerts" current={r.name === "alerts"}>
            Alerts
            {unreadCount > 0 && (
              <span className="count" aria-label={`${unreadCount} unread`}>
                {unreadCount > 99 ? "99+" : unreadCount}
              </span>
            )}
          </NavLink>
          <NavLink to="/analytics" current={r.name === "analytics"}>
            Analytics
          </NavLink>
          <NavLink to="/exports" current={r.name === "exports"}>
            Exports
          </NavLink>
          <NavLink to="/accounts" current={r.name === "accounts"}>
            Accounts
          </NavLink>
          {admin.data && (
            <NavLink to="/operators" current={r.name === "operators"}>
              Operators
            </NavLink>
          )}
        </nav>
        <div className="session">
          <span
            className={`live ${stream === "live" ? "on" : stream === "reconnecting" ? "warn" : "off"}`}
            role="status"
            title="Live updates from the server"
          >
            {stream === "live" ? "Live" : stream === "reconnecting" ? "Reconnecting…" : "Connecting…"}
          </span>
          <button type="button" className="small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{r.page}</main>
      <Toasts toasts={toasts} onDismiss={dismiss} />
    </>
  );
}

/** Session is the signed-in app; a new token gets a fresh cache. */
function Session() {
  const [client] = useState(newQueryClient);
  return (
    <QueryClientProvider client={client}>
      <Shell />
    </QueryClientProvider>
  );
}

export function App() {
  const token = useToken();
  if (!token) return <SignInPage />;
  return <Session key={token} />;
}
