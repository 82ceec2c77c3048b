import { UnsupportedDatabaseError } from "session-manager";
import { isSqliteUrl, parseSqliteUrl } from "../../src/database/sqlite-url";

describe("parseSqliteUrl", () => {
  it.each([
    ["sqlite:app.db", "app.db", null],
    ["sqlite:data/app.db", "data/app.db", null],
    ["sqlite://data/app.db", "data/app.db", null],
    ["sqlite:///var/lib/app.db", "/var/lib/app.db", null],
    ["SQLite:app.db", "app.db", null],
    ["sqlite:my%20app.db", "my app.db", null],
    ["sqlite::memory:", ":memory:", null],
    ["sqlite://:memory:", ":memory:", null],
    ["sqlite:app.db?busyTimeout=100", "app.db", 100],
    ["sqlite:///var/lib/app.db?busyTimeout=0", "/var/lib/app.db", 0],
    ["sqlite::memory:?busyTimeout=250", ":memory:", 250],
    ["sqlite:my%20app.db?busyTimeout=5000", "my app.db", 5000],
  ])("reads %s", (url, path, busyTimeout) => {
    expect(parseSqliteUrl(url)).toEqual({ path, busyTimeout });
  });

  it.each([
    "sqlite:",
    "sqlite://",
    "sqlite:?busyTimeout=100",
    "sqlite:app.db?busyTimeout=",
    "sqlite:app.db?busyTimeout=abc",
    "sqlite:app.db?busyTimeout=-1",
    "sqlite:app.db?busyTimeout=1.5",
    "sqlite:app.db?mode=ro",
    "sqlite:app.db?busyTimeout=100&cache=shared",
  ])("refuses %s", (url) => {
    expect(() => parseSqliteUrl(url)).toThrow(UnsupportedDatabaseError);
  });

  it("tells sqlite: URLs from the others", () => {
    expect(["sqlite:app.db", "SQLITE::memory:"].map(isSqliteUrl)).toEqual([true, true]);
    expect(["postgres://localhost/app", "mysql://localhost/app", "app.db"].map(isSqliteUrl)).toEqual([false, false, false]);
    expect(() => parseSqliteUrl("postgres://localhost/app")).toThrow(UnsupportedDatabaseError);
  });
});
