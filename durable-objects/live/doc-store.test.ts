import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { DocStore } from "./doc-store.ts";

function freshHub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(`doc-store-${crypto.randomUUID()}`));
}

describe("DocStore", () => {
  it("restores a document from appended updates", async () => {
    await runInDurableObject(freshHub(), (_hub, state) => {
      const store = new DocStore(state.storage, "test");
      const doc = new Y.Doc();
      doc.on("update", (update: Uint8Array) => store.append(doc, update));
      doc.getMap("m").set("a", 1);
      doc.getArray<string>("list").push(["x", "y"]);

      const restored = new Y.Doc();
      new DocStore(state.storage, "test").load(restored);
      expect(restored.getMap("m").get("a")).toBe(1);
      expect(restored.getArray("list").toArray()).toEqual(["x", "y"]);
    });
  });

  it("compacts many updates into a snapshot and still restores exactly", async () => {
    await runInDurableObject(freshHub(), (_hub, state) => {
      const store = new DocStore(state.storage, "test");
      const doc = new Y.Doc();
      doc.on("update", (update: Uint8Array) => store.append(doc, update));
      for (let i = 0; i < 450; i++) doc.getMap("m").set(`k${i}`, i);

      const pending = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM ydoc_updates").one().n;
      expect(pending).toBeLessThan(200);
      const restored = new Y.Doc();
      new DocStore(state.storage, "test").load(restored);
      expect(restored.getMap("m").toJSON()).toEqual(doc.getMap("m").toJSON());
    });
  });

  it("splits a snapshot over 2 MB into chunks under the SQLite value limit", async () => {
    await runInDurableObject(freshHub(), (_hub, state) => {
      const store = new DocStore(state.storage, "big");
      const doc = new Y.Doc();
      // Incompressible text so the snapshot really is ~3 MB.
      const random = new Uint8Array(1_500_000);
      for (let offset = 0; offset < random.length; offset += 65_536) {
        crypto.getRandomValues(random.subarray(offset, offset + 65_536));
      }
      doc.getText("t").insert(0, [...random].map((b) => b.toString(16).padStart(2, "0")).join(""));
      store.compact(doc);

      const chunks = state.storage.sql
        .exec<{ size: number }>("SELECT length(data) AS size FROM ydoc_snapshot_chunks WHERE doc = 'big' ORDER BY seq")
        .toArray();
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) expect(chunk.size).toBeLessThan(2_000_000);
      const restored = new Y.Doc();
      new DocStore(state.storage, "big").load(restored);
      expect(restored.getText("t").toString()).toBe(doc.getText("t").toString());
    });
  });

  it("keeps documents of different names apart", async () => {
    await runInDurableObject(freshHub(), (_hub, state) => {
      const a = new Y.Doc();
      const storeA = new DocStore(state.storage, "a");
      a.on("update", (update: Uint8Array) => storeA.append(a, update));
      a.getMap("m").set("only", "a");
      const b = new Y.Doc();
      new DocStore(state.storage, "b").load(b);
      expect(b.getMap("m").size).toBe(0);
    });
  });
});
