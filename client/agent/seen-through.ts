// Which messages of a ticket this agent has seen: the send-time guard's `seenThroughSeq`.
// A message counts as seen once it is rendered while the tab is visible; one that arrives
// while the tab is hidden counts only when the agent comes back to it. Messages shown some
// other way (the "new messages arrived" warning) count the same, if visible then.

export interface SeenThrough {
  /** The newest seq this agent has seen (0: none). */
  readonly seq: number;
  /** The thread as rendered now: its newest seq. */
  rendered(newestSeq: number): void;
  /** The tab was shown or hidden. */
  visibility(visible: boolean): void;
  /** Messages up to `seq` were put in front of the agent outside the thread. */
  shown(seq: number): void;
}

export function createSeenThrough(visible: boolean): SeenThrough {
  let seen = 0;
  let rendered = 0;
  let isVisible = visible;
  const see = (seq: number): void => {
    if (isVisible && seq > seen) seen = seq;
  };
  return {
    get seq() {
      return seen;
    },
    rendered(newestSeq) {
      rendered = Math.max(rendered, newestSeq);
      see(rendered);
    },
    visibility(next) {
      isVisible = next;
      see(rendered);
    },
    shown(seq) {
      see(seq);
    },
  };
}
