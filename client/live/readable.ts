// A value that changes over time, the smallest shape a UI layer (signals, hooks) can wrap.

export interface Readable<T> {
  get(): T;
  /** Calls `listener` on every change (not with the current value); returns the unsubscribe function. */
  subscribe(listener: (value: T) => void): () => void;
}

/** A Readable with a setter for its owner; `equal` decides what counts as a change. */
export class Value<T> implements Readable<T> {
  #value: T;
  readonly #listeners = new Set<(value: T) => void>();
  readonly #equal: (a: T, b: T) => boolean;

  constructor(initial: T, equal: (a: T, b: T) => boolean = Object.is) {
    this.#value = initial;
    this.#equal = equal;
  }

  get(): T {
    return this.#value;
  }

  set(next: T): void {
    if (this.#equal(this.#value, next)) return;
    this.#value = next;
    for (const listener of [...this.#listeners]) listener(next);
  }

  subscribe(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Read-only view for consumers. */
  readonly readable: Readable<T> = {
    get: () => this.get(),
    subscribe: (listener) => this.subscribe(listener),
  };
}
