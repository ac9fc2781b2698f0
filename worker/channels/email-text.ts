import { z } from "zod";

// Small, linear-time helpers for inbound email: addresses, Message-IDs and HTML bodies.
// No regex runs over the whole HTML body except the single-pass entity decoder, so a
// hostile 1 MB body costs one scan.

export type ParsedAddress = { name: string | null; address: string };

const Email = z.email().max(254);

/** `Name <addr>`, `"Doe, Jane" <addr>`, `<addr>` or a bare `addr`; null if not an address. */
export function parseAddress(value: string): ParsedAddress | null {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > 512) return null;
  let name: string | null = null;
  let address = trimmed;
  const open = trimmed.lastIndexOf("<");
  if (open !== -1) {
    if (!trimmed.endsWith(">")) return null;
    address = trimmed.slice(open + 1, -1).trim();
    name = unquote(trimmed.slice(0, open).trim()) || null;
  }
  if (!Email.safeParse(address).success) return null;
  return { name: name === null ? null : name.slice(0, 200), address: address.toLowerCase() };
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1).replace(/\\(.)/g, "$1").trim();
  return text;
}

/** Splits an address list on commas outside double quotes. */
export function splitAddressList(value: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of value) {
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part.length > 0);
}

/** A Message-ID in canonical form, `<local@domain>`; null if it is not one. */
export function normalizeMessageId(value: string): string | null {
  let core = value.trim();
  if (core.startsWith("<") && core.endsWith(">")) core = core.slice(1, -1).trim();
  if (core.length === 0 || core.length > 995 || /[\s<>]/.test(core)) return null;
  return `<${core}>`;
}

/** Every Message-ID in a header value such as References (`<a@x> <b@y>`), in order. */
export function messageIdList(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const tokens = typeof value === "string" ? value.split(/[\s,]+/) : value.flatMap((entry) => entry.split(/[\s,]+/));
  const ids: string[] = [];
  for (const token of tokens) {
    const id = normalizeMessageId(token);
    if (id && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

const DROPPED_WITH_CONTENT = new Set(["script", "style", "head", "title", "template", "noscript", "xml"]);
const BLOCKS = new Set([
  "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3", "h4", "h5",
  "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tbody", "thead", "tr", "ul",
]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", copy: "©", reg: "®", trade: "™", hellip: "…",
  mdash: "—", ndash: "–", lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”", euro: "€", pound: "£", yen: "¥",
  cent: "¢", bull: "•", middot: "·", times: "×", divide: "÷", deg: "°", laquo: "«", raquo: "»", shy: "",
  zwnj: "", zwj: "",
};

/** Decodes character references in one pass (so `&amp;lt;` gives `&lt;`, not `<`). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
      return valid ? String.fromCodePoint(code) : "\uFFFD";
    }
    const name = ref.toLowerCase();
    return Object.hasOwn(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name]! : whole;
  });
}

function tagName(html: string, lt: number): { name: string; closing: boolean } | null {
  let i = lt + 1;
  const closing = html[i] === "/";
  if (closing) i += 1;
  const start = i;
  while (i < html.length && i - start < 32 && /[a-zA-Z0-9:-]/.test(html[i]!)) i += 1;
  if (i === start || !/[a-zA-Z]/.test(html[start]!)) return null;
  return { name: html.slice(start, i).toLowerCase(), closing };
}

/**
 * Plain text from an HTML email body: drops tags, comments and the content of script,
 * style and head; turns block ends and `<br>` into line breaks; decodes entities;
 * collapses whitespace. Meant for display as text (still escape it when rendering HTML).
 */
export function htmlToText(html: string): string {
  const lower = html.toLowerCase();
  let out = "";
  let i = 0;
  const text = (segment: string) => {
    out += segment.replace(/[ \t\r\n\f]+/g, " ");
  };
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt === -1) {
      text(html.slice(i));
      break;
    }
    text(html.slice(i, lt));
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end === -1 ? html.length : end + 3;
      continue;
    }
    if (html[lt + 1] === "!" || html[lt + 1] === "?") {
      // <!DOCTYPE ...>, <![CDATA[...]]>, <?xml ...?>
      const end = html.indexOf(">", lt + 2);
      i = end === -1 ? html.length : end + 1;
      continue;
    }
    const tag = tagName(html, lt);
    if (!tag) {
      // A "<" that starts no tag ("a < b") is text.
      text("<");
      i = lt + 1;
      continue;
    }
    const gt = html.indexOf(">", lt);
    if (gt === -1) break; // an unterminated tag at the end: drop it
    i = gt + 1;
    if (!tag.closing && DROPPED_WITH_CONTENT.has(tag.name) && html[gt - 1] !== "/") {
      const close = lower.indexOf(`</${tag.name}`, i);
      const closeEnd = close === -1 ? -1 : lower.indexOf(">", close);
      i = closeEnd === -1 ? html.length : closeEnd + 1;
      continue;
    }
    if (tag.name === "li") {
      if (!tag.closing) out += "\n- ";
    } else if (BLOCKS.has(tag.name)) out += "\n";
    else if ((tag.name === "td" || tag.name === "th") && tag.closing) out += " ";
  }
  return decodeEntities(out)
    .replace(/\u00a0/g, " ")
    .split("\n")
    .map((line) => line.replace(/ {2,}/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
