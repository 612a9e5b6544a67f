import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobFrameHeader } from "../api/index.js";
import { patternBytes } from "../store/blob/contract.test-suite.js";

const run = promisify(execFile);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const large = patternBytes(3 << 20, 7);
const small = [patternBytes(5000, 1), patternBytes(70_000, 2)];

/**
 * The agent's download thread over HTTPS: the same plain client as over HTTP, on tls.connect, so the
 * certificate must be one the process trusts. The server is node:https with a certificate made here
 * for 127.0.0.1 (openssl); the agent side is a child process (test/fixtures/fetch-over-https.ts),
 * since NODE_EXTRA_CA_CERTS is read only when a process starts.
 */
describe("the download thread over HTTPS", () => {
  let dir: string;
  let server: https.Server;
  let endpoint: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ctxsync test",
      "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    server = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) }, (req, res) => {
      if (req.method === "GET" && req.url === "/blob") return void res.end(large); // Content-Length
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/vnd.ctxsync.blob-frames" }); // chunked
        for (const b of small) res.write(Buffer.concat([blobFrameHeader(sha(b), "ok", b.length), b]));
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fetchInChild = async (into: string, env: NodeJS.ProcessEnv) => {
    fs.mkdirSync(into);
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join("test", "fixtures", "fetch-over-https.ts"), endpoint, into, ...small.map(sha)], {
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
    return JSON.parse(stdout.trim()) as { large: unknown; small: unknown };
  };

  it("receives a large blob and blob frames into their files from a server the process trusts", async () => {
    const into = path.join(dir, "trusted");
    const result = await fetchInChild(into, { NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem") });
    expect(result).toEqual({ large: 200, small: [[null], [null]] }); // the answer's status; every file written
    expect(fs.readFileSync(path.join(into, "large")).equals(large)).toBe(true);
    small.forEach((b, i) => expect(fs.readFileSync(path.join(into, `small-${i}`)).equals(b)).toBe(true));
  });

  it("refuses a server whose certificate it does not trust, naming why, and creates no file", async () => {
    const into = path.join(dir, "untrusted");
    const result = await fetchInChild(into, { NODE_EXTRA_CA_CERTS: "" });
    for (const failure of [result.large, result.small]) {
      expect(failure).toMatchObject({ code: "StoreUnavailable", message: expect.stringMatching(/self-signed certificate/) });
    }
    expect(fs.readdirSync(into)).toEqual([]);
  });
});
