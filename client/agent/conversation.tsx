// The thread as chat bubbles: the customer on the left, agents and the AI Agent on the
// right, system events centred; internal notes stand out (yellow, labelled).

import { useEffect, useRef } from "preact/hooks";
import { now } from "./clock.ts";
import { dateTime, messageTime } from "./format.ts";
import type { CustomerRef, Message } from "./inbox-api.ts";
import { type AgentNames, authorName } from "./people.ts";

export type MessageKind = "customer" | "agent" | "ai" | "system" | "note";

export function messageKind(message: Message): MessageKind {
  return message.isInternalNote ? "note" : message.authorKind;
}

function MessageBubble({ message, customer, agents }: { message: Message; customer: CustomerRef | null; agents: AgentNames }) {
  const kind = messageKind(message);
  const author = authorName(message, customer, agents);
  const time = (
    <time dateTime={new Date(message.createdAt).toISOString()} title={dateTime(message.createdAt)}>
      {messageTime(message.createdAt, now.value)}
    </time>
  );
  if (kind === "system") {
    return (
      <li class="message message-system" data-testid="message" data-kind={kind} data-message-id={message.id}>
        <span class="system-text">{message.body}</span> <span class="message-meta">{time}</span>
      </li>
    );
  }
  return (
    <li class={`message message-${kind}`} data-testid="message" data-kind={kind} data-message-id={message.id}>
      <div class="bubble">
        {kind === "note" && <div class="note-label">Internal note</div>}
        <div class="message-body">{message.body}</div>
      </div>
      <div class="message-meta">
        <span class="author">{author}</span>
        {message.coAuthorIds && message.coAuthorIds.length > 1 && (
          <span class="co-authors" data-testid="co-authors">
            {" "}
            with {message.coAuthorIds.filter((id) => id !== message.authorId).map((id) => agents.name(id)).join(", ")}
          </span>
        )}
        <span aria-hidden="true"> · </span>
        {time}
      </div>
    </li>
  );
}

export function Conversation({
  messages,
  customer,
  agents,
}: {
  messages: readonly Message[];
  customer: CustomerRef | null;
  agents: AgentNames;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  /** Whether the view is at the latest message (then it stays there when the pane resizes). */
  const pinned = useRef(true);
  const last = messages.at(-1)?.id;
  // Open at the latest message, and follow the thread as it grows.
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    pinned.current = true;
  }, [last]);
  // The reply box growing (an error, a longer draft) must not push the latest message out of view.
  useEffect(() => {
    const element = scroller.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (pinned.current) element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const onScroll = () => {
    const element = scroller.current;
    if (element) pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
  };

  return (
    <div class="conversation" ref={scroller} onScroll={onScroll}>
      {messages.length === 0 ? (
        <p class="empty muted">No messages yet.</p>
      ) : (
        <ol class="messages" data-testid="messages">
          {messages.map((message) => (
            <MessageBubble key={message.id} message={message} customer={customer} agents={agents} />
          ))}
        </ol>
      )}
    </div>
  );
}
