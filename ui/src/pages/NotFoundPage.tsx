/** What an unknown (or someone else's) workflow, execution or address shows. */
import { Link } from "react-router";
import { TopBar } from "../App";

export function NotFound({ what = "This page" }: { what?: string }) {
  return (
    <div className="flex h-full flex-col">
      <TopBar />
      <main className="flex flex-1 flex-col items-center justify-center gap-3 p-6 text-center" data-testid="not-found">
        <h1 className="text-2xl font-semibold">Not found</h1>
        <p className="muted">{what} does not exist, or is not yours.</p>
        <div className="flex gap-2">
          <Link className="btn btn-primary" to="/">
            Your workflows
          </Link>
          <Link className="btn" to="/executions">
            Executions
          </Link>
        </div>
      </main>
    </div>
  );
}

/** The not-found page for any address the app does not know. */
export function NotFoundPage() {
  return <NotFound />;
}
