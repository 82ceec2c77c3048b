// The account page's words for a session: which browser on which system, and how long ago.
//
// User-agent strings are parsed with bowser (MIT, no dependencies, a few kilobytes): it names the
// browser and the system in words people know ("Chrome", "Windows", "iOS"). ua-parser-js names
// more devices, but its current major version is AGPL-licensed.
import Bowser from "bowser";

// lastSeenAt is kept to within an hour (the manager writes it at most once an hour per session).
const LAST_SEEN_RESOLUTION_MS = 60 * 60 * 1000;

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/**
 * "Chrome on Linux", "Firefox on Windows", "Safari on iOS"; "Chrome" or "a browser on Android"
 * when only one half is known; null when the string names neither (a script, curl, no header).
 */
export function describeDevice(userAgent) {
  if (typeof userAgent !== "string" || userAgent.trim() === "") return null;
  const { browser, os } = Bowser.parse(userAgent);
  const name = browser.name || null;
  const system = os.name || null;
  if (name !== null && system !== null) return `${name} on ${system}`;
  if (name !== null) return name;
  if (system !== null) return `a browser on ${system}`;
  return null;
}

/** "just now", "5 minutes ago", "2 hours ago", "yesterday", "3 weeks ago". */
export function timeAgo(date, now) {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 60) return "just now";
  for (const [unit, size] of UNITS) {
    if (seconds >= size) return relative.format(-Math.floor(seconds / size), unit);
  }
  return "just now";
}

/** When a session was last used: the manager records it to within the hour, so no finer than that. */
export function lastActive(session, now, current) {
  if (current) return "now";
  const seen = session.lastSeenAt ?? session.createdAt;
  if (now.getTime() - seen.getTime() < LAST_SEEN_RESOLUTION_MS) return "within the last hour";
  return timeAgo(seen, now);
}
