/**
 * A Durable Object's alarm, known without asking storage: read once when the object starts
 * (`load`, inside `blockConcurrencyWhile`), then kept by every set and delete made here. So
 * a commit can arm the alarm synchronously, in its own storage transaction (writes with no
 * await between them commit together), and only when no earlier alarm is set.
 */
export class KnownAlarm {
  private at: number | null = null;
  private readonly storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  async load(): Promise<void> {
    this.at = await this.storage.getAlarm();
  }

  /** When the alarm is set for; null when none is. */
  get(): number | null {
    return this.at;
  }

  /** Sets the alarm unless one is already set no later than `at` (a time already past means now). */
  armBy(at: number): void {
    this.set(Math.max(at, Date.now()), this.at === null || this.at > at);
  }

  /**
   * Makes sure an alarm fires by `latest`: sets it for `at` unless one is already set no
   * later than `latest`. A guard that need not be exact (a busy object keeps the alarm it
   * has instead of writing a new one with every commit).
   */
  ensureBy(latest: number, at: number): void {
    this.set(Math.max(at, Date.now()), this.at === null || this.at > latest);
  }

  private set(at: number, needed: boolean): void {
    if (!needed) return;
    // The runtime refuses a time <= 0 (a "due at once" 0 from storage, say): clamped above.
    this.at = at;
    void this.storage.setAlarm(at);
  }

  /** The alarm handler runs: the alarm that called it is no longer set. */
  fired(): void {
    this.at = null;
  }

  clear(): void {
    if (this.at === null) return;
    this.at = null;
    void this.storage.deleteAlarm();
  }
}
