import { useSignal } from "@preact/signals";
import type { TargetedSubmitEvent } from "preact";
import { login } from "./api.ts";
import { startSession } from "./session.ts";

export function LoginPage() {
  const email = useSignal("");
  const password = useSignal("");
  const error = useSignal<string | null>(null);
  const pending = useSignal(false);

  async function submit(event: TargetedSubmitEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    if (pending.value) return;
    pending.value = true;
    error.value = null;
    const result = await login(email.value.trim(), password.value);
    pending.value = false;
    if (result.ok) startSession(result.token, result.agent);
    else error.value = result.message;
  }

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} noValidate>
        <h1>Helpdesk</h1>
        <p class="muted">Log in to your agent inbox.</p>
        <label>
          Email
          <input
            name="email"
            type="email"
            autocomplete="username"
            required
            autofocus
            value={email.value}
            onInput={(e) => (email.value = e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
        </label>
        {error.value && (
          <p class="error" role="alert" data-testid="login-error">
            {error.value}
          </p>
        )}
        <button type="submit" class="primary" disabled={pending.value}>
          {pending.value ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
