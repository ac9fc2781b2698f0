import { restoreSession, boot, session } from "./session.ts";
import { InboxPage } from "./inbox-page.tsx";
import { LoginPage } from "./login-page.tsx";

export function App() {
  const current = session.value;
  switch (boot.value) {
    case "restoring":
      return (
        <main class="login">
          <p class="muted">Loading…</p>
        </main>
      );
    case "unreachable":
      return (
        <main class="login">
          <div class="card login-card">
            <p class="error" role="alert">
              Could not reach the server.
            </p>
            <button type="button" class="primary" onClick={() => void restoreSession()}>
              Try again
            </button>
          </div>
        </main>
      );
    case "ready":
      return current ? <InboxPage key={current.token} session={current} /> : <LoginPage />;
  }
}
