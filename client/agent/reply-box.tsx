// The reply box is the ticket's shared draft: every agent on the ticket types into the same
// text (the `draft` of the ticket document, bound to the textarea by y-textarea) and sees the
// others' cursors and selections. "Reply" goes to the customer on the ticket's channel,
// "Internal note" stays with the team; the mode is each agent's own (others see it).
// Sending is guarded: a reply written before the latest customer message is held, and the
// agent sees what arrived first.

import { effect, useSignal } from "@preact/signals";
import type { TargetedKeyboardEvent, TargetedSubmitEvent } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { TextAreaBinding } from "y-textarea";
import type { CustomerRef, Message } from "./inbox-api.ts";
import { channelLabel } from "./labels.ts";
import { type AgentNames, authorName } from "./people.ts";
import { createCursorPainter, cursorOf } from "./remote-cursors.ts";
import type { TicketPeer } from "./ticket-live.ts";
import type { SendKind, TicketStore } from "./ticket-store.ts";

/** Each agent's mode, per ticket, for this tab (the text itself lives in the document). */
const modes = new Map<string, SendKind>();

export function rememberedMode(ticketId: string): SendKind {
  return modes.get(ticketId) ?? "reply";
}

/** Selection changes that do not come with an input event. */
const SELECTION_EVENTS = ["keyup", "mouseup", "select", "focus"] as const;

function Peers({ peers, meId }: { peers: readonly TicketPeer[]; meId: string }) {
  // One entry per agent (an agent with two tabs is one person here), not counting you.
  const byAgent = new Map<string, TicketPeer>();
  for (const peer of peers) {
    if (peer.agentId === meId) continue;
    const known = byAgent.get(peer.agentId);
    if (!known || (peer.typing && !known.typing)) byAgent.set(peer.agentId, peer);
  }
  if (byAgent.size === 0) return null;
  return (
    <ul class="draft-peers" data-testid="draft-peers" aria-label="Also on this draft">
      {[...byAgent.values()].map((peer) => (
        <li key={peer.agentId} data-agent-id={peer.agentId} data-typing={peer.typing ? "true" : "false"} style={{ borderColor: peer.color }}>
          <span class="peer-dot" style={{ backgroundColor: peer.color }} aria-hidden="true" />
          {peer.name}
          {peer.typing ? " is typing" : ""}
          {peer.mode === "note" ? " (note)" : ""}
        </li>
      ))}
    </ul>
  );
}

function HeldWarning({ arrived, customer, agents }: { arrived: readonly Message[]; customer: CustomerRef | null; agents: AgentNames }) {
  return (
    <div class="held-warning" role="alert" data-testid="reply-held">
      <p>
        <strong>{arrived.length === 1 ? "A new message arrived" : `${arrived.length} new messages arrived`}</strong> while you were writing. Read{" "}
        {arrived.length === 1 ? "it" : "them"}, then send again: your text is kept.
      </p>
      <ul>
        {arrived.map((message) => (
          <li key={message.id} data-testid="reply-held-message">
            <span class="author">{authorName(message, customer, agents)}:</span> {message.body}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ReplyBox({
  store,
  channel,
  customer,
  agents,
  onKeystroke,
  onBlur,
}: {
  store: TicketStore;
  channel: string;
  customer: CustomerRef | null;
  agents: AgentNames;
  /** Each keystroke in the box (the inbox's typing indicator publishes transitions only). */
  onKeystroke: () => void;
  onBlur: () => void;
}) {
  const live = store.live;
  const sending = useSignal(false);
  const error = useSignal<string | null>(null);
  const held = useSignal<Message[] | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const overlay = useRef<HTMLDivElement>(null);
  const mode = live ? live.mode.value : "reply";

  // The textarea is the draft's view: y-textarea writes both ways; Preact never sets its value.
  useEffect(() => {
    const textarea = input.current;
    const layer = overlay.current;
    if (!live || !textarea || !layer) return;
    const binding = new TextAreaBinding(live.draft, textarea);
    const painter = createCursorPainter(textarea, layer, live.draft);
    const redraw = (): void => painter.draw(live.peers.peek());
    const stopDrawing = effect(() => {
      void live.draftText.value;
      painter.draw(live.peers.value);
    });
    const publishCursor = (): void => live.setCursor(cursorOf(textarea, live.draft));
    for (const name of SELECTION_EVENTS) textarea.addEventListener(name, publishCursor);
    textarea.addEventListener("input", publishCursor);
    textarea.addEventListener("scroll", redraw);
    const resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(redraw);
    resize?.observe(textarea);
    return () => {
      for (const name of SELECTION_EVENTS) textarea.removeEventListener(name, publishCursor);
      textarea.removeEventListener("input", publishCursor);
      textarea.removeEventListener("scroll", redraw);
      resize?.disconnect();
      stopDrawing();
      painter.destroy();
      binding.destroy();
    };
  }, [live]);

  function setMode(next: SendKind): void {
    live?.setMode(next);
    modes.set(store.ticketId, next);
    error.value = null;
    input.current?.focus();
  }

  async function send(): Promise<void> {
    if (!live || live.draftText.value.trim() === "" || sending.value) return;
    sending.value = true;
    error.value = null;
    const outcome = await store.sendDraft(mode);
    sending.value = false;
    if (outcome.kind === "sent") {
      held.value = null;
      live.stopTyping();
      onBlur();
    } else if (outcome.kind === "held") {
      held.value = outcome.arrived;
      // Shown to the agent now (if the tab is visible): the next send goes through.
      store.seen.shown(Math.max(0, ...outcome.arrived.map((message) => message.seq)));
    } else {
      error.value = outcome.error.message;
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

  const note = mode === "note";
  const empty = (live?.draftText.value ?? "").trim() === "";
  return (
    <form class={note ? "reply-box mode-note" : "reply-box"} onSubmit={onSubmit} data-mode={mode}>
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
      {live && <Peers peers={live.peers.value} meId={agents.meId} />}
      {held.value && <HeldWarning arrived={held.value} customer={customer} agents={agents} />}
      <div class="draft-area">
        <textarea
          ref={input}
          data-testid="reply-input"
          aria-label={note ? "Internal note" : "Reply"}
          placeholder={note ? "Write a note for your team…" : "Write your reply…"}
          rows={3}
          onInput={() => {
            error.value = null;
            live?.keystroke();
            onKeystroke();
          }}
          onBlur={() => {
            live?.stopTyping();
            onBlur();
          }}
          onKeyDown={onKeyDown}
        />
        <div class="remote-cursors" ref={overlay} aria-hidden="true" />
      </div>
      {error.value && (
        <p class="error" role="alert" data-testid="reply-error">
          {error.value}
        </p>
      )}
      <div class="reply-actions">
        <span class="muted small">Ctrl+Enter to send</span>
        <button type="submit" class="primary" data-testid="reply-send" disabled={sending.value || empty}>
          {sending.value ? "Sending…" : note ? "Add note" : "Send reply"}
        </button>
      </div>
    </form>
  );
}
