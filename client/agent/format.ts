// Formatting for display: relative times, full timestamps, money. Pure (tests run in Node).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "2 d ago", then a date ("12 Mar", or "12 Mar 2023" in another year). */
export function relativeTime(then: number, now: number): string {
  const age = now - then;
  if (age < MINUTE) return age > -MINUTE ? "just now" : shortDate(then, now);
  if (age < HOUR) return `${Math.floor(age / MINUTE)} min ago`;
  if (age < DAY) return `${Math.floor(age / HOUR)} h ago`;
  if (age < 7 * DAY) return `${Math.floor(age / DAY)} d ago`;
  return shortDate(then, now);
}

export function shortDate(then: number, now: number): string {
  const date = new Date(then);
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  return date.toLocaleDateString(undefined, sameYear ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
}

/** "12 Mar 2025, 14:03" in the viewer's locale. */
export function dateTime(then: number): string {
  return new Date(then).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Time of day for a message today, otherwise date and time. */
export function messageTime(then: number, now: number): string {
  const date = new Date(then);
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return dateTime(then);
}

export function money(cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** Up to two initials for an avatar. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s@._-]+/).filter((word) => word !== "");
  return words
    .slice(0, 2)
    .map((word) => word.charAt(0).toUpperCase())
    .join("");
}
