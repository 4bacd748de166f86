import { useEffect, type ReactNode } from "react";
import { Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { setUnauthorizedHandler } from "./api/client";
import { useInboxCount } from "./api/hooks";
import { AuditPage } from "./pages/AuditPage";
import { AuthPage } from "./pages/AuthPage";
import { BatchPage } from "./pages/BatchPage";
import { BatchesPage } from "./pages/BatchesPage";
import { BuilderPage } from "./pages/BuilderPage";
import { ComparePage } from "./pages/ComparePage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { InboxPage } from "./pages/InboxPage";
import { IntegrationsPage } from "./pages/IntegrationsPage";
import { LibraryPage } from "./pages/LibraryPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { useAuthStore } from "./stores/authStore";
import { useThemeStore } from "./stores/themeStore";

function RequireAuth({ children }: { children: ReactNode }) {
  const token = useAuthStore((s) => s.token);
  const location = useLocation();
  return token ? children : <Navigate to="/login" replace state={{ from: location.pathname }} />;
}

/** The top bar: home, theme, who is signed in. */
export function TopBar({ children }: { children?: ReactNode }) {
  const user = useAuthStore((s) => s.user);
  const signOut = useAuthStore((s) => s.signOut);
  const { theme, toggle } = useThemeStore();
  const waiting = useInboxCount(!!user).data ?? 0;
  return (
    <header className="panel flex min-h-12 shrink-0 items-center gap-3 border-b px-3 py-1">
      <Link to="/" className="font-semibold text-sky-700 dark:text-sky-400">
        FlowMaestro
      </Link>
      {/* a crowded bar (the builder's) wraps onto a second line instead of overlapping */}
      <div className="flex min-w-0 flex-1 flex-wrap items-center gap-2">{children}</div>
      {user && (
        <nav className="flex items-center gap-3 text-xs" aria-label="Sections">
          <Link to="/executions" className="underline">
            Executions
          </Link>
          <Link to="/inbox" className="underline" title="Human-input nodes waiting for your answer">
            Inbox
            {waiting > 0 && (
              <span className="ml-1 rounded-full bg-amber-500 px-1.5 text-[10px] font-semibold text-white" data-testid="inbox-count">
                {waiting}
              </span>
            )}
          </Link>
          <Link to="/integrations" className="underline" title="Credentials your nodes use">
            Integrations
          </Link>
          <Link to="/audit" className="underline" title="Who did what, when and from where">
            Audit
          </Link>
        </nav>
      )}
      <button className="btn" onClick={toggle} aria-label="Toggle dark mode" title="Toggle dark mode (Shift+D)">
        {theme === "dark" ? "☀" : "☾"}
      </button>
      {user && (
        <>
          <span className="muted hidden lg:inline">{user.name || user.email}</span>
          <button className="btn" onClick={signOut}>
            Sign out
          </button>
        </>
      )}
    </header>
  );
}

export function App() {
  const navigate = useNavigate();
  const signOut = useAuthStore((s) => s.signOut);
  const toggleTheme = useThemeStore((s) => s.toggle);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      signOut();
      navigate("/login");
    });
  }, [navigate, signOut]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = (e.target as HTMLElement)?.closest?.("input, textarea, select, [contenteditable]");
      if (!typing && e.shiftKey && e.key.toLowerCase() === "d" && !e.ctrlKey && !e.metaKey) toggleTheme();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [toggleTheme]);
  return (
    <Routes>
      <Route path="/login" element={<AuthPage mode="login" />} />
      <Route path="/register" element={<AuthPage mode="register" />} />
      <Route path="/" element={<RequireAuth><LibraryPage /></RequireAuth>} />
      <Route path="/workflows/:id" element={<RequireAuth><BuilderPage /></RequireAuth>} />
      <Route path="/workflows/:id/batches" element={<RequireAuth><BatchesPage /></RequireAuth>} />
      <Route path="/batches/:id" element={<RequireAuth><BatchPage /></RequireAuth>} />
      <Route path="/executions" element={<RequireAuth><ExecutionsPage /></RequireAuth>} />
      <Route path="/executions/:id" element={<RequireAuth><ExecutionPage /></RequireAuth>} />
      <Route path="/executions/:id/compare" element={<RequireAuth><ComparePage /></RequireAuth>} />
      <Route path="/inbox" element={<RequireAuth><InboxPage /></RequireAuth>} />
      <Route path="/integrations" element={<RequireAuth><IntegrationsPage /></RequireAuth>} />
      <Route path="/audit" element={<RequireAuth><AuditPage /></RequireAuth>} />
      <Route path="*" element={<RequireAuth><NotFoundPage /></RequireAuth>} />
    </Routes>
  );
}
