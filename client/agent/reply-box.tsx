// The reply box: "Reply" goes to the customer on the ticket's channel, "Internal note"
// stays with the team. Drafts survive switching tickets (kept per ticket in this tab).

import { useSignal } from "@preact/signals";
import type { TargetedKeyboardEvent, TargetedSubmitEvent } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { channelLabel } from "./labels.ts";
import type { SendKind, TicketStore } from "./ticket-store.ts";

interface Draft {
  text: string;
  mode: SendKind;
}

const drafts = new Map<string, Draft>();

export function ReplyBox({
  store,
  channel,
  onKeystroke,
  onBlur,
}: {
  store: TicketStore;
  channel: string;
  /** Each keystroke in the box (the typing indicator publishes transitions only). */
  onKeystroke: () => void;
  onBlur: () => void;
}) {
  const saved = drafts.get(store.ticketId);
  const text = useSignal(saved?.text ?? "");
  const mode = useSignal<SendKind>(saved?.mode ?? "reply");
  const sending = useSignal(false);
  const error = useSignal<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(
    () => () => {
      if (text.peek().trim() === "" && mode.peek() === "reply") drafts.delete(store.ticketId);
      else drafts.set(store.ticketId, { text: text.peek(), mode: mode.peek() });
    },
    [store],
  );

  function setMode(next: SendKind): void {
    mode.value = next;
    error.value = null;
    input.current?.focus();
  }

  async function send(): Promise<void> {
    const body = text.value.trim();
    if (body === "" || sending.value) return;
    sending.value = true;
    error.value = null;
    const result = await store.send(mode.value, body);
    sending.value = false;
    if (result.ok) {
      text.value = "";
      drafts.delete(store.ticketId);
      onBlur();
    } else {
      error.value = result.error.message;
    }
    input.current?.focus();
  }

  const onSubmit = (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    void send();
  };
  const onKeyDown = (event: TargetedKeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void send();
    }
  };

  const note = mode.value === "note";
  return (
    <form class={note ? "reply-box mode-note" : "reply-box"} onSubmit={onSubmit} data-mode={mode.value}>
      <div class="reply-modes" role="group" aria-label="Message type">
        <button type="button" data-testid="reply-mode-reply" aria-pressed={!note} onClick={() => setMode("reply")}>
          Reply
        </button>
        <button type="button" data-testid="reply-mode-note" aria-pressed={note} onClick={() => setMode("note")}>
          Internal note
        </button>
        <span class="muted small reply-hint">
          {note ? "Only your team sees notes." : `Goes to the customer by ${channelLabel(channel)}.`}
        </span>
      </div>
      <textarea
        ref={input}
        data-testid="reply-input"
        aria-label={note ? "Internal note" : "Reply"}
        placeholder={note ? "Write a note for your team…" : "Write your reply…"}
        rows={3}
        value={text.value}
        onInput={(event) => {
          text.value = event.currentTarget.value;
          error.value = null;
          onKeystroke();
        }}
        onBlur={onBlur}
        onKeyDown={onKeyDown}
      />
      {error.value && (
        <p class="error" role="alert" data-testid="reply-error">
          {error.value}
        </p>
      )}
      <div class="reply-actions">
        <span class="muted small">Ctrl+Enter to send</span>
        <button type="submit" class="primary" data-testid="reply-send" disabled={sending.value || text.value.trim() === ""}>
          {sending.value ? "Sending…" : note ? "Add note" : "Send reply"}
        </button>
      </div>
    </form>
  );
}
