import * as Y from "yjs";

// Persists Yjs documents in a Durable Object's SQLite storage: each server write appends
// its update; once enough pile up they are compacted into one snapshot, split into chunks
// because a SQLite value in a Durable Object may not exceed 2 MB.

const CHUNK_BYTES = 1_500_000;
const COMPACT_AFTER_UPDATES = 200;
const COMPACT_AFTER_BYTES = 1_000_000;

export interface DocStoreStorage {
  sql: SqlStorage;
  transactionSync<T>(closure: () => T): T;
}

export class DocStore {
  private pendingUpdates = 0;
  private pendingBytes = 0;
  private readonly storage: DocStoreStorage;
  private readonly name: string;

  constructor(storage: DocStoreStorage, name: string) {
    this.storage = storage;
    this.name = name;
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS ydoc_snapshot_chunks (
      doc TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (doc, seq))`);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS ydoc_updates (
      id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, data BLOB NOT NULL)`);
  }

  /** Whether anything of this document is stored (a snapshot or an update). */
  exists(): boolean {
    const row = this.storage.sql
      .exec<{ n: number }>(
        "SELECT (SELECT count(*) FROM ydoc_snapshot_chunks WHERE doc = ?) + (SELECT count(*) FROM ydoc_updates WHERE doc = ?) AS n",
        this.name,
        this.name,
      )
      .one();
    return row.n > 0;
  }

  /** Rebuilds the document from its snapshot and the updates written since. */
  load(doc: Y.Doc): void {
    const chunks = this.storage.sql
      .exec<{ data: ArrayBuffer }>("SELECT data FROM ydoc_snapshot_chunks WHERE doc = ? ORDER BY seq", this.name)
      .toArray()
      .map((row) => new Uint8Array(row.data));
    const updates = this.storage.sql
      .exec<{ data: ArrayBuffer }>("SELECT data FROM ydoc_updates WHERE doc = ? ORDER BY id", this.name)
      .toArray()
      .map((row) => new Uint8Array(row.data));
    Y.transact(doc, () => {
      if (chunks.length > 0) Y.applyUpdate(doc, concat(chunks));
      for (const update of updates) Y.applyUpdate(doc, update);
    }, this);
    this.pendingUpdates = updates.length;
    this.pendingBytes = updates.reduce((sum, update) => sum + update.byteLength, 0);
  }

  /** Appends one update; compacts when the log has grown. */
  append(doc: Y.Doc, update: Uint8Array): void {
    this.storage.sql.exec("INSERT INTO ydoc_updates (doc, data) VALUES (?, ?)", this.name, update);
    this.pendingUpdates += 1;
    this.pendingBytes += update.byteLength;
    if (this.pendingUpdates >= COMPACT_AFTER_UPDATES || this.pendingBytes >= COMPACT_AFTER_BYTES) this.compact(doc);
  }

  compact(doc: Y.Doc): void {
    const snapshot = Y.encodeStateAsUpdate(doc);
    this.storage.transactionSync(() => {
      this.storage.sql.exec("DELETE FROM ydoc_snapshot_chunks WHERE doc = ?", this.name);
      for (let offset = 0, seq = 0; offset < snapshot.byteLength; offset += CHUNK_BYTES, seq++) {
        this.storage.sql.exec(
          "INSERT INTO ydoc_snapshot_chunks (doc, seq, data) VALUES (?, ?, ?)",
          this.name,
          seq,
          snapshot.subarray(offset, offset + CHUNK_BYTES),
        );
      }
      this.storage.sql.exec("DELETE FROM ydoc_updates WHERE doc = ?", this.name);
    });
    this.pendingUpdates = 0;
    this.pendingBytes = 0;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
