import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../errors/index.js";
import { parsePostgresUrl, postgresTarget } from "./postgres-url.js";

describe("parsePostgresUrl", () => {
  it("takes a postgres URL and shows only host, port and database", () => {
    expect(postgresTarget(parsePostgresUrl("postgresql://ctx:s3cret@db.internal/ctx?sslmode=require"))).toBe("db.internal:5432/ctx");
    expect(postgresTarget(parsePostgresUrl("postgres://ctx:p%23w@db:6543/x"))).toBe("db:6543/x");
  });

  // Each would otherwise show part of the password as host, port or path.
  for (const special of ["#", "/", "?"]) {
    const url = `postgres://u:Zq${special}7x@db/x`;
    it(`refuses a password with an unescaped ${special}, without repeating it`, () => {
      let err: unknown;
      try {
        parsePostgresUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidParameterError);
      const message = (err as Error).message;
      expect(message).not.toContain("Zq");
      expect(message).not.toContain("7x");
    });
  }

  it("refuses other schemes and text that is no URL", () => {
    expect(() => parsePostgresUrl("mysql://u:p@db/x")).toThrow(/must start with postgres:\/\//);
    expect(() => parsePostgresUrl("host=db password=hunter2")).toThrow(/not a valid URL/);
  });
});

describe("parsePostgresUrl on URLs it must keep taking", () => {
  it("takes an empty user with a password, and an '@' inside a query value", () => {
    expect(postgresTarget(parsePostgresUrl("postgres://:secret@db/x"))).toBe("db:5432/x");
    expect(postgresTarget(parsePostgresUrl("postgres://db/x?user=me@srv&password=pw"))).toBe("db:5432/x");
  });
});
