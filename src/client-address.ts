import { isIPv4, isIPv6 } from "node:net";

/**
 * The key the address throttle counts a client address under. IPv4 addresses count one by one,
 * also in their IPv4-mapped IPv6 form (`::ffff:203.0.113.7`, how a dual-stack socket reports
 * them); other IPv6 addresses by their /64, the smallest block an ISP hands one customer (RFC
 * 6177), so that one subscriber cannot rotate through the 2^64 addresses it owns.
 *
 * A missing or empty address gives null: nothing to count by (the per-username rule still
 * applies). Any other value that is not an IP address (a proxy passing a header through as it
 * came) counts under one shared key, so that rotating garbage values never escapes the limits.
 */
export function addressKey(ip: unknown): string | null {
  if (typeof ip !== "string") return null;
  const value = ip.trim();
  if (value === "") return null;
  const address = stripPort(value);
  if (isIPv4(address)) return address;
  // A zone id (`fe80::1%eth0`) names the sender's interface, not the sender.
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (!isIPv6(bare)) return UNPARSED;
  const groups = ipv6Groups(bare.toLowerCase());
  if (groups === null) return UNPARSED;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The shared key of every value that is not an IP address. */
export const UNPARSED = "unparsed";

/** `[v6]:port` and `[v6]` give `v6`, `a.b.c.d:port` gives `a.b.c.d` (some proxies append the port). */
function stripPort(value: string): string {
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    const rest = end === -1 ? "x" : value.slice(end + 1);
    return rest === "" || /^:\d{1,5}$/.test(rest) ? value.slice(1, end) : value;
  }
  const port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(value);
  return port === null ? value : port[1]!;
}

/** The eight 16-bit groups of an address `isIPv6` accepted (compressed, with a dotted IPv4 tail or not). */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        if (!isIPv4(piece)) return null;
        const [a, b, c, d] = piece.split(".").map(Number) as [number, number, number, number];
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(piece)) return null;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...head, ...Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
}
