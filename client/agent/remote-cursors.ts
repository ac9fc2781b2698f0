// Other agents' cursors and selections over the reply box's textarea, from their awareness
// `cursor` (Yjs relative positions in the draft, so they stay put while anyone types).
//
// y-textarea draws cursors too, but publishes them under an awareness field named after the
// textarea's id, which the ticket room refuses (only TicketAwarenessState's fields pass), and
// does not export its cursor class; so the binding only syncs the text, and this draws from
// the protocol's own `cursor` field. A textarea has no API for where a character is: a hidden
// mirror with the same box and font lays the text out the same way, and the mirror's spans
// give the caret's and selection's rectangles (one per line).

import * as Y from "yjs";
import type { DraftCursor, TicketPeer } from "./ticket-live.ts";

/** Computed styles the mirror copies so it wraps lines exactly as the textarea does. */
const MIRRORED = [
  "boxSizing",
  "width",
  "borderTopWidth",
  "borderRightWidth",
  "borderBottomWidth",
  "borderLeftWidth",
  "borderStyle",
  "paddingTop",
  "paddingRight",
  "paddingBottom",
  "paddingLeft",
  "fontStyle",
  "fontVariant",
  "fontWeight",
  "fontStretch",
  "fontSize",
  "lineHeight",
  "fontFamily",
  "textAlign",
  "textTransform",
  "textIndent",
  "letterSpacing",
  "wordSpacing",
  "tabSize",
] as const;

/** The JSON of this tab's selection in the draft, as awareness carries it. */
export function cursorOf(textarea: HTMLTextAreaElement, draft: Y.Text): DraftCursor {
  const backward = textarea.selectionDirection === "backward";
  const start = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(draft, textarea.selectionStart));
  const end = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(draft, textarea.selectionEnd));
  return backward ? { anchor: end, head: start } : { anchor: start, head: end };
}

/** Where a relative position is now, or null if it does not resolve in this document. */
function indexOf(json: unknown, draft: Y.Text): number | null {
  if (draft.doc === null || typeof json !== "object" || json === null) return null;
  try {
    const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), draft.doc);
    return absolute !== null && absolute.type === draft ? Math.min(absolute.index, draft.length) : null;
  } catch {
    return null;
  }
}

interface Box {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Lays `text` out like the textarea and returns the boxes of [start, end) relative to its border box. */
function measure(textarea: HTMLTextAreaElement, mirror: HTMLDivElement, text: string, start: number, end: number): { caret: Box; selection: Box[] } {
  const computed = getComputedStyle(textarea);
  const style = mirror.style;
  for (const property of MIRRORED) style[property] = computed[property];
  style.overflowY = textarea.scrollHeight > textarea.clientHeight ? "scroll" : "hidden";
  const before = document.createTextNode(text.slice(0, start));
  const selected = document.createElement("span");
  // A zero-width space gives a collapsed caret a line box to measure.
  selected.textContent = start === end ? "\u200b" : text.slice(start, end);
  const after = document.createTextNode(text.slice(end) || ".");
  mirror.replaceChildren(before, selected, after);
  const origin = mirror.getBoundingClientRect();
  const boxes = [...selected.getClientRects()].map((rect) => ({
    top: rect.top - origin.top - textarea.scrollTop,
    left: rect.left - origin.left - textarea.scrollLeft,
    width: rect.width,
    height: rect.height,
  }));
  const last = boxes.at(-1) ?? { top: 0, left: 0, width: 0, height: parseFloat(computed.lineHeight) || 18 };
  const caret = { top: last.top, left: last.left + (start === end ? 0 : last.width), width: 2, height: last.height };
  return { caret, selection: start === end ? [] : boxes.filter((box) => box.width > 0) };
}

function place(element: HTMLElement, box: Box): void {
  element.style.top = `${box.top}px`;
  element.style.left = `${box.left}px`;
  element.style.width = `${box.width}px`;
  element.style.height = `${box.height}px`;
}

/**
 * Draws `peers`' cursors into `overlay` (absolutely placed over the textarea, same box).
 * Returns a function that removes the mirror; call draw again whenever the peers, the text,
 * the scroll position or the size change.
 */
export function createCursorPainter(textarea: HTMLTextAreaElement, overlay: HTMLElement, draft: Y.Text) {
  const mirror = document.createElement("div");
  mirror.setAttribute("aria-hidden", "true");
  Object.assign(mirror.style, { position: "absolute", visibility: "hidden", top: "0", left: "-9999px", whiteSpace: "pre-wrap", overflowWrap: "break-word" });
  document.body.append(mirror);

  return {
    draw(peers: readonly TicketPeer[]): void {
      const text = draft.toString();
      const nodes: HTMLElement[] = [];
      for (const peer of peers) {
        if (peer.cursor === null) continue;
        const anchor = indexOf(peer.cursor.anchor, draft);
        const head = indexOf(peer.cursor.head, draft);
        if (anchor === null || head === null) continue;
        const { caret, selection } = measure(textarea, mirror, text, Math.min(anchor, head), Math.max(anchor, head));
        for (const box of selection) {
          const mark = document.createElement("div");
          mark.className = "remote-selection";
          mark.dataset.testid = "remote-selection";
          mark.dataset.agentId = peer.agentId;
          mark.style.backgroundColor = `${peer.color}33`;
          place(mark, box);
          nodes.push(mark);
        }
        const cursor = document.createElement("div");
        cursor.className = "remote-cursor";
        cursor.dataset.testid = "remote-cursor";
        cursor.dataset.agentId = peer.agentId;
        cursor.style.backgroundColor = peer.color;
        // The caret sits where the head is: after the selection when it runs forward.
        place(cursor, head >= anchor ? caret : { ...(selection[0] ?? caret), width: 2 });
        const label = document.createElement("span");
        label.className = "remote-cursor-name";
        label.textContent = peer.name;
        label.style.backgroundColor = peer.color;
        cursor.append(label);
        nodes.push(cursor);
      }
      overlay.replaceChildren(...nodes);
    },
    destroy(): void {
      mirror.remove();
      overlay.replaceChildren();
    },
  };
}
