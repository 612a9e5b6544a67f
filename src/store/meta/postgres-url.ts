import { InvalidParameterError } from "../../errors/index.js";

/**
 * A PostgreSQL URL, checked so that its parts can be shown: a password with an unescaped `#`, `/` or `?`
 * makes a URL parser read part of it as host, port or path (`postgres://u:12#34@db/x` has host `u` and
 * port `12`), which a log line would then print. Such a URL is refused, asking for percent-encoding. (A
 * `?` in a password can read as a valid host:port and query, `u:12?x@db`, which no check can tell from a
 * real one; percent-encoding is the only cure.) Errors never contain the URL.
 */
export function parsePostgresUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // No cause: URL errors carry the input, password included.
    throw new InvalidParameterError("The PostgreSQL URL is not a valid URL; expected postgres://user:password@host:port/database.");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new InvalidParameterError(`The PostgreSQL URL must start with postgres:// or postgresql://, not ${parsed.protocol}//.`);
  }
  // An '@' in the part before the query that the parser did not take as the end of user:password@.
  const authorityAndPath = url.split("?", 1)[0]!;
  if (authorityAndPath.includes("@") && parsed.username === "" && parsed.password === "") {
    throw new InvalidParameterError(
      "The PostgreSQL URL has an '@' outside its user:password@ part; percent-encode '#', '/', '?' and '@' in the user and password (encodeURIComponent).",
    );
  }
  return parsed;
}

/** `host:port/database` of a parsed URL: what may be shown (never the user or password). */
export function postgresTarget(parsed: URL): string {
  return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
}
