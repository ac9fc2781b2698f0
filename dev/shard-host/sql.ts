// A small SQLite tokenizer: enough to split SQL text into statements (the way
// sqlite3_complete() decides where a statement ends, CREATE TRIGGER bodies included), to
// tell EXPLAIN statements apart and to list a statement's parameters in SQLite's numbering.
// The `libsql` package prepares only the first statement of a string and exposes neither the
// unparsed tail nor parameter names, so the shard host needs this for `execute` (exactly one
// statement, as sqld requires), `sequence` (one statement at a time) and `describe`.

type TokenKind = "ws" | "semi" | "word" | "variable" | "other";

type Token = { kind: TokenKind; start: number; end: number };

function isIdChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x5f || // _
    code === 0x24 || // $
    code >= 0x80
  );
}

function isSpace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\f";
}

/** Index just past a quoted token that starts at `start` with `quote`, doubling escapes it. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length; // unterminated: SQLite will report the error when preparing
}

function* tokenize(sql: string): Generator<Token> {
  let i = 0;
  while (i < sql.length) {
    const start = i;
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (isSpace(ch)) {
      while (i < sql.length && isSpace(sql[i] as string)) i++;
      yield { kind: "ws", start, end: i };
    } else if (ch === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline + 1;
      yield { kind: "ws", start, end: i };
    } else if (ch === "/" && next === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
      yield { kind: "ws", start, end: i };
    } else if (ch === ";") {
      i++;
      yield { kind: "semi", start, end: i };
    } else if (ch === "'" || ch === '"' || ch === "`") {
      i = skipQuoted(sql, i, ch);
      yield { kind: "other", start, end: i };
    } else if (ch === "[") {
      const close = sql.indexOf("]", i + 1);
      i = close < 0 ? sql.length : close + 1;
      yield { kind: "other", start, end: i };
    } else if (ch === "?") {
      i++;
      while (i < sql.length && sql.charCodeAt(i) >= 0x30 && sql.charCodeAt(i) <= 0x39) i++;
      yield { kind: "variable", start, end: i };
    } else if ((ch === ":" || ch === "@" || ch === "$" || ch === "#") && next !== undefined && isIdChar(next.charCodeAt(0))) {
      i++;
      while (i < sql.length) {
        if (isIdChar(sql.charCodeAt(i))) {
          i++;
        } else if (ch === "$" && sql[i] === ":" && sql[i + 1] === ":") {
          i += 2; // TCL-style namespace: $a::b
        } else if (ch === "$" && sql[i] === "(") {
          const close = sql.indexOf(")", i);
          i = close < 0 ? sql.length : close + 1;
          break;
        } else {
          break;
        }
      }
      yield { kind: "variable", start, end: i };
    } else if (isIdChar(sql.charCodeAt(i))) {
      // Identifiers, keywords and numbers; a blob literal x'..' continues as a quoted token.
      while (i < sql.length && isIdChar(sql.charCodeAt(i))) i++;
      yield { kind: "word", start, end: i };
    } else {
      i++;
      yield { kind: "other", start, end: i };
    }
  }
}

// The sqlite3_complete() state machine. States: 0 INVALID (nothing yet), 1 START, 2 NORMAL,
// 3 EXPLAIN, 4 CREATE, 5 TRIGGER (inside a trigger body), 6 SEMI (";" inside a trigger body),
// 7 END (";END" seen). Token classes: SEMI, OTHER, EXPLAIN, CREATE, TEMP, TRIGGER, END.
const TRANSITIONS: readonly (readonly number[])[] = [
  /*               SEMI OTHER EXPLAIN CREATE TEMP TRIGGER END */
  /* 0 INVALID */ [1, 2, 3, 4, 2, 2, 2],
  /* 1 START   */ [1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL  */ [1, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN */ [1, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE  */ [1, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER */ [6, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI    */ [6, 5, 5, 5, 5, 5, 7],
  /* 7 END     */ [1, 5, 5, 5, 5, 5, 5],
];

function tokenClass(sql: string, token: Token): number {
  if (token.kind === "semi") return 0;
  if (token.kind !== "word") return 1;
  switch (sql.slice(token.start, token.end).toUpperCase()) {
    case "EXPLAIN":
      return 2;
    case "CREATE":
      return 3;
    case "TEMP":
    case "TEMPORARY":
      return 4;
    case "TRIGGER":
      return 5;
    case "END":
      return 6;
    default:
      return 1;
  }
}

/**
 * Splits SQL text into statements. Each piece keeps its leading comments and its terminating
 * semicolon; pieces that hold nothing but whitespace, comments and semicolons are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let state = 0;
  let pieceStart = 0;
  let hasContent = false;
  for (const token of tokenize(sql)) {
    if (token.kind === "ws") continue;
    state = TRANSITIONS[state]?.[tokenClass(sql, token)] ?? 2;
    if (token.kind === "semi" && state === 1) {
      if (hasContent) statements.push(sql.slice(pieceStart, token.end));
      pieceStart = token.end;
      hasContent = false;
    } else if (token.kind !== "semi") {
      hasContent = true;
    }
  }
  if (hasContent) statements.push(sql.slice(pieceStart));
  return statements;
}

export type StatementInfo = {
  /** True if the statement starts with EXPLAIN (sqlite3_stmt_isexplain). */
  isExplain: boolean;
  /**
   * Parameter names by index (index 0 is SQLite parameter 1), as sqlite3_bind_parameter_name
   * reports them: `null` for a plain `?`, otherwise the text with its prefix (`?3`, `:id`).
   */
  params: (string | null)[];
  /** The first keyword, upper-cased ("SELECT", "INSERT", "WITH", "EXPLAIN", ...), or "". */
  verb: string;
  /**
   * True if running (or even preparing) the statement may leave per-connection state behind
   * other than a transaction: a PRAGMA setting, an ATTACHed database, or TEMP objects. Checked
   * conservatively by words: any PRAGMA, ATTACH, DETACH, TEMP or TEMPORARY word, or an
   * identifier spelled `temp` in any quotes (a column named `temp` counts too).
   */
  changesSession: boolean;
};

const SESSION_WORDS = new Set(["PRAGMA", "ATTACH", "DETACH", "TEMP", "TEMPORARY"]);

/** Whether a quoted token ('temp', "temp", `temp`, [temp]) names the temp schema. */
function isQuotedTemp(text: string): boolean {
  return text.length === 6 && /^(['"`[])temp['"`\]]$/i.test(text);
}

/** Describes one statement (as returned by splitStatements). */
export function analyzeStatement(sql: string): StatementInfo {
  let verb = "";
  let changesSession = false;
  let first = true;
  const names: (string | null)[] = [];
  const indexByName = new Map<string, number>();
  for (const token of tokenize(sql)) {
    if (token.kind === "ws") continue;
    const text = sql.slice(token.start, token.end);
    if (token.kind === "word") {
      const word = text.toUpperCase();
      if (first) verb = word;
      if (SESSION_WORDS.has(word)) changesSession = true;
    } else if (token.kind === "other" && isQuotedTemp(text)) {
      changesSession = true;
    }
    first = false;
    if (token.kind !== "variable") continue;
    if (text === "?") {
      names.push(null);
    } else if (text.startsWith("?")) {
      const index = Number(text.slice(1));
      while (names.length < index) names.push(null);
      if (index >= 1) names[index - 1] = text;
      indexByName.set(text, index);
    } else if (!indexByName.has(text)) {
      names.push(text);
      indexByName.set(text, names.length);
    }
  }
  return { isExplain: verb === "EXPLAIN", params: names, verb, changesSession };
}
