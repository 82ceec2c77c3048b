import fc from "fast-check";
import { addressKey, UNPARSED } from "../../src/client-address";

describe("the key an address is counted under", () => {
  it("counts IPv4 addresses one by one, in their IPv4-mapped IPv6 forms too", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("203.0.113.8")).toBe("203.0.113.8");
    for (const mapped of [
      "::ffff:203.0.113.7",
      "::FFFF:203.0.113.7",
      "0:0:0:0:0:ffff:203.0.113.7",
      "::ffff:cb00:7107",
      "[::ffff:203.0.113.7]",
    ]) {
      expect(addressKey(mapped)).toBe("203.0.113.7");
    }
    expect(addressKey("::ffff:127.0.0.1")).toBe("127.0.0.1");
  });

  it("counts other IPv6 addresses by their /64, whatever their notation", () => {
    const same = [
      "2001:db8:1:2::1",
      "2001:DB8:1:2::1",
      "2001:0db8:0001:0002:0000:0000:0000:0001",
      "2001:db8:1:2:ffff:ffff:ffff:ffff",
      "2001:db8:1:2:0:0:203.0.113.7",
      "2001:db8:1:2::9%eth0",
      "[2001:db8:1:2::1]",
      "[2001:db8:1:2::1]:443",
      " 2001:db8:1:2::1 ",
    ];
    for (const address of same) expect(addressKey(address)).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(addressKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::")).toBe("0:0:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("fe80::1%25en0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("1:2:3:4:5:6:7::")).toBe("1:2:3:4::/64");
  });

  it("takes the port off an address a proxy wrote with one", () => {
    expect(addressKey("203.0.113.7:51234")).toBe("203.0.113.7");
    expect(addressKey("[2001:db8:1:2::1]:51234")).toBe("2001:db8:1:2::/64");
  });

  it("gives no key for a missing address, and one shared key for anything that is not an address", () => {
    for (const none of [undefined, null, "", "   ", 42, {}, ["203.0.113.7"]]) expect(addressKey(none)).toBeNull();
    const garbage = [
      "unknown",
      "203.0.113.7, 198.51.100.1",
      "01.2.3.4",
      "256.1.1.1",
      "1.2.3",
      "1::2::3",
      "[::1",
      "::1]",
      "[::1]x",
      "2001:db8::1/64",
      "12345::",
      "::ffff:1.2.3.4:80",
      "\u0000",
      "x".repeat(100_000),
    ];
    for (const value of garbage) expect(addressKey(value)).toBe(UNPARSED);
  });

  it("never throws and always gives a short key, whatever the string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (value) => {
        const key = addressKey(value);
        if (key !== null) expect(key.length).toBeLessThanOrEqual(64);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives every spelling of one IPv6 address the key of its /64", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, upper) => {
        // Not an IPv4-mapped address, which counts as its IPv4 address.
        fc.pre(!(groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff));
        const full = groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
        const short = groups.map((g) => g.toString(16)).join(":");
        const expected = `${groups
          .slice(0, 4)
          .map((g) => g.toString(16))
          .join(":")}::/64`;
        for (const spelling of [full, short, compress(groups)])
          expect(addressKey(upper ? spelling.toUpperCase() : spelling)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The RFC 5952 short form: the longest run of two or more zero groups as `::`. */
function compress(groups: number[]): string {
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}
