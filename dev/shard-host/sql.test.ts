import { describe, expect, it } from "vitest";
import { analyzeStatement, splitStatements } from "./sql.ts";

describe("splitStatements", () => {
  it("splits on semicolons outside strings, identifiers and comments", () => {
    expect(
      splitStatements(`SELECT ';' AS "a;b", [c;d], \`e;f\`; -- x; y
        /* ; */ SELECT 2;;  ; SELECT 'it''s;'`).map((s) => s.trim()),
    ).toEqual([`SELECT ';' AS "a;b", [c;d], \`e;f\`;`, "-- x; y\n        /* ; */ SELECT 2;", "SELECT 'it''s;'"]);
  });

  it("drops pieces with only whitespace and comments", () => {
    expect(splitStatements("")).toEqual([]);
    expect(splitStatements("  ;; -- c\n /* d */ ;")).toEqual([]);
    expect(splitStatements("SELECT 1 -- trailing")).toEqual(["SELECT 1 -- trailing"]);
  });

  it("keeps CREATE TRIGGER bodies whole (ended by ;END;), even with CASE ... END inside", () => {
    const trigger = `CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN
      UPDATE t SET a = CASE WHEN new.a > 1 THEN 2 ELSE 3 END;
      DELETE FROM u;
    END;`;
    expect(splitStatements(`${trigger} SELECT 1`).map((s) => s.trim())).toEqual([trigger, "SELECT 1"]);
    expect(splitStatements("CREATE TABLE trigger (x); SELECT 1")).toHaveLength(2);
    expect(splitStatements("EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2")).toHaveLength(2);
  });
});

describe("analyzeStatement", () => {
  it("numbers parameters the way SQLite does", () => {
    expect(analyzeStatement("SELECT ?, :a, ?5, @b, :a, ?, $c::d(x)").params).toEqual([
      null,
      ":a",
      null,
      null,
      "?5",
      "@b",
      null,
      "$c::d(x)",
    ]);
    expect(analyzeStatement("SELECT ':a', \"?\" -- ?\n").params).toEqual([]);
  });

  it("detects EXPLAIN after leading comments", () => {
    expect(analyzeStatement("-- c\n explain query plan SELECT 1").isExplain).toBe(true);
    expect(analyzeStatement("SELECT 'EXPLAIN'").isExplain).toBe(false);
  });

  it("names the first keyword", () => {
    expect(analyzeStatement("/* c */ select 1").verb).toBe("SELECT");
    expect(analyzeStatement("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x").verb).toBe("WITH");
    expect(analyzeStatement("-- only a comment").verb).toBe("");
  });

  it("flags statements that may leave per-connection state (conservatively)", () => {
    const flagged = [
      "PRAGMA foreign_keys = OFF",
      "explain pragma cache_size = 10",
      "ATTACH 'x.db' AS x",
      "DETACH x",
      "CREATE TEMP TABLE t (a)",
      "CREATE TEMPORARY VIEW v AS SELECT 1",
      'CREATE TABLE "temp".t (a)',
      "CREATE TABLE [TEMP].t (a)",
      "CREATE INDEX `temp`.i ON t (a)",
      "SELECT temp FROM weather", // a column named temp: a false positive, which only costs a pooled connection
    ];
    for (const sql of flagged) expect(analyzeStatement(sql).changesSession, sql).toBe(true);
    const clean = ["SELECT * FROM pragma_table_info('t')", "INSERT INTO t VALUES ('temperature')", "CREATE TABLE temps (a)", "BEGIN"];
    for (const sql of clean) expect(analyzeStatement(sql).changesSession, sql).toBe(false);
  });
});
