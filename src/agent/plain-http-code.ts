/**
 * Source of `plainHttpRequest`, for the download thread (DownloadThread evaluates it with its own code):
 * one request over plain HTTP/1.1 on a socket of its own, the answer's body handed to a sink that
 * writes it straight into files (fileSink here; the blob-frame sink in frame-files-code.ts).
 *
 * Why not node:http: its socket hands over 64 KiB at a time, each through the HTTP parser and a
 * stream, into a write stream. Reading into one reused 1 MiB buffer (net's `onread`) and writing each
 * read synchronously (this is a thread of its own) moved two 100 MB answers with a third of the CPU
 * (0.63 → 0.23 s in the same run; docs/benchmarks.md). HTTPS goes the same way over tls.connect,
 * which takes `onread` too and checks the certificate and the host name as node:https does (the
 * process's trust store, so NODE_EXTRA_CA_CERTS counts); TLS hands over a record (≤ 16 KiB) per read.
 *
 * The answer may be framed by Content-Length, chunked (what ctxsync's server sends: its last chunk
 * goes only after the blob was verified), or by the connection's end. An answer that ends early, or a
 * connection closed before the frame says the body is whole, is "cut short": ECONNRESET, as node:http
 * reports it. Interim 1xx heads are skipped.
 *
 * `plainHttpRequest(req, openSink, io)`: req = { url, method, headers, body?, idleTimeoutMs,
 * maxErrorBodyBytes }; io = { progress(bytes), finish(answer), register(cancel) }, answers as in
 * DownloadAnswer; `fileSink(target, io)` is the sink of a GET into a new file. It uses the download
 * thread's `fs`, `describe` and PROGRESS_BYTES.
 */
export const PLAIN_HTTP_CODE = `
const net = require("node:net");
const READ_BUFFER_BYTES = 1 << 20;
/**
 * Read buffers of closed connections, for the next requests (as many as run at once, about): a new
 * 1 MiB buffer per request costs 256 fresh page faults, 40 requests per 10,000-file download.
 */
const spareReadBuffers = [];
const MAX_SPARE_READ_BUFFERS = 6;
const MAX_HEAD_BYTES = 64 << 10;
function httpError(message, code) {
  return Object.assign(new Error(message), { code });
}
function parseHead(text) {
  const lines = text.split("\\r\\n");
  const m = /^HTTP\\/1\\.[01] (\\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw httpError("the server's answer is not HTTP/1.1: " + JSON.stringify(lines[0].slice(0, 80)), "HPE_INVALID_CONSTANT");
  const headers = {};
  for (const line of lines.slice(1)) {
    const k = line.indexOf(":");
    if (k <= 0) throw httpError("the server's answer has a malformed header line: " + JSON.stringify(line.slice(0, 80)), "HPE_INVALID_HEADER_TOKEN");
    headers[line.slice(0, k).trim().toLowerCase()] = line.slice(k + 1).trim();
  }
  return { status: Number(m[1]), statusText: m[2] || "", headers };
}
/** A body reader for the head's framing: push(bytes, emit) returns true once the body is whole. */
function bodyReader(headers) {
  if (/(^|,)\\s*chunked\\s*$/i.test(headers["transfer-encoding"] || "")) return chunkedReader();
  if (headers["content-length"] !== undefined) {
    if (!/^\\d+$/.test(headers["content-length"])) throw httpError("the server's answer has a bad Content-Length", "HPE_INVALID_CONTENT_LENGTH");
    let left = Number(headers["content-length"]);
    return {
      endsWithConnection: false,
      whole: () => left === 0,
      push(bytes, emit) {
        const piece = bytes.subarray(0, left);
        left -= piece.length;
        if (piece.length > 0) emit(piece);
        return left === 0;
      },
    };
  }
  return { endsWithConnection: true, whole: () => false, push(bytes, emit) { if (bytes.length > 0) emit(bytes); return false; } };
}
function chunkedReader() {
  let state = "size"; // size | data | data-end | trailer | done
  let line = "";
  let left = 0;
  return {
    endsWithConnection: false,
    whole: () => state === "done",
    push(bytes, emit) {
      let i = 0;
      while (i < bytes.length && state !== "done") {
        if (state === "data") {
          const piece = bytes.subarray(i, i + left);
          left -= piece.length;
          i += piece.length;
          emit(piece);
          if (left === 0) state = "data-end";
          continue;
        }
        // size, data-end and trailer read lines.
        const nl = bytes.indexOf(10, i);
        const end = nl < 0 ? bytes.length : nl + 1;
        line += bytes.toString("latin1", i, end);
        i = end;
        if (line.length > 4096) throw httpError("the server's chunked answer has an over-long line", "HPE_CHUNK_EXTENSIONS_OVERFLOW");
        if (nl < 0) break;
        const text = line.replace(/\\r?\\n$/, "");
        line = "";
        if (state === "data-end") {
          if (text !== "") throw httpError("the server's chunked answer is malformed (no line end after a chunk)", "HPE_INVALID_CHUNK_SIZE");
          state = "size";
        } else if (state === "size") {
          const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(text);
          if (!size) throw httpError("the server's chunked answer has a bad chunk size " + JSON.stringify(text.slice(0, 20)), "HPE_INVALID_CHUNK_SIZE");
          left = parseInt(size[1], 16);
          state = left === 0 ? "trailer" : "data";
        } else if (text === "") {
          state = "done";
        }
      }
      return state === "done";
    },
  };
}
/**
 * One request; a 2xx answer's body goes to the sink openSink(status) makes: { push(bytes), finish() →
 * fields of the answer, discard() → fields of a failed answer (it cleans up what it made) }. push gets
 * views into the reused read buffer, valid only during the call. Other answers are read, bounded. Throws
 * for a request it cannot make (a malformed URL, a scheme other than http: and https:, a bad header).
 */
function plainHttpRequest({ url, method, headers, body, idleTimeoutMs, maxErrorBodyBytes }, openSink, io) {
  const u = new URL(url); // a malformed URL throws ERR_INVALID_URL
  const secure = u.protocol === "https:";
  if (!secure && u.protocol !== "http:") throw httpError("this client speaks http: and https:, not " + u.protocol, "ERR_INVALID_PROTOCOL");
  const payload = body === undefined ? undefined : Buffer.from(body);
  let head = "";
  const all = { Host: u.host, ...headers, ...(payload ? { "Content-Length": String(payload.length) } : {}), Connection: "close" };
  for (const [name, value] of Object.entries(all)) {
    if (/[\\r\\n:]/.test(name) || /[\\r\\n]/.test(String(value))) throw httpError("header " + JSON.stringify(name) + " has a line break in it", "ERR_INVALID_CHAR");
    head += name + ": " + value + "\\r\\n";
  }
  const requestHead = method + " " + (u.pathname + u.search) + " HTTP/1.1\\r\\n" + head + "\\r\\n";
  let done = false;
  let answer = null; // the parsed head, once it came
  let pending = null; // bytes of a head not yet whole
  let framing = null;
  let sink = null; // a 2xx answer's
  let receiving = false; // a 2xx answer came: its failures are the transfer's ("body"), not the request's
  const errorChunks = [];
  let errorBytes = 0;
  const end = (result) => {
    done = true;
    socket.destroy();
    io.finish(result);
  };
  const fail = (err) => {
    if (done) return;
    const error = describe(err);
    let more = {};
    if (sink) {
      try {
        more = sink.discard() || {};
      } catch (e) {
        error.message += "; " + describe(e).message;
      }
    }
    // An error answer cut short is as good as no answer: the server (or a proxy) failed the request.
    end({ failed: err && err.answerFault ? "answer" : receiving ? "body" : "request", error, ...more });
  };
  const emit = (bytes) => {
    if (sink) return sink.push(bytes);
    if (errorBytes < maxErrorBodyBytes) errorChunks.push(Buffer.from(bytes.subarray(0, maxErrorBodyBytes - errorBytes)));
    errorBytes += bytes.length;
  };
  const complete = () => {
    if (!sink) {
      const requestId = answer.headers["x-request-id"] || "";
      const text = Buffer.concat(errorChunks).toString("utf8").slice(0, maxErrorBodyBytes);
      return end({ status: answer.status, saved: false, statusText: answer.statusText, requestId, body: text });
    }
    const fields = sink.finish();
    end({ status: answer.status, saved: true, ...fields });
  };
  const receive = (bytes) => {
    while (!answer) {
      const whole = pending ? Buffer.concat([pending, bytes]) : bytes;
      const k = whole.indexOf("\\r\\n\\r\\n");
      if (k < 0) {
        if (whole.length > MAX_HEAD_BYTES) throw httpError("the server's answer head is over " + MAX_HEAD_BYTES + " bytes", "HPE_HEADER_OVERFLOW");
        pending = Buffer.from(whole); // the read buffer is reused: keep a copy
        return;
      }
      pending = null;
      const text = whole.toString("latin1", 0, k);
      bytes = whole.subarray(k + 4);
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      if (/^HTTP\\/1\\.[01] 1\\d\\d/.test(text) && !/^HTTP\\/1\\.[01] 101/.test(text)) continue;
      answer = parseHead(text);
      framing = bodyReader(answer.headers);
      if (answer.status >= 200 && answer.status < 300) {
        receiving = true;
        sink = openSink(answer.status);
      }
    }
    if (framing.push(bytes, emit)) complete();
  };
  // tls.connect checks the certificate against this host (and sends it as SNI unless it is an address).
  // node:tls loads only when needed: ~3 ms of a thread's start.
  const readBuffer = spareReadBuffers.pop() || Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const socket = (secure ? require("node:tls").connect : net.connect)({
    host: u.hostname.replace(/^\\[|\\]$/g, ""),
    port: Number(u.port || (secure ? 443 : 80)),
    onread: {
      buffer: readBuffer,
      callback(n, buf) {
        if (done) return false;
        try {
          receive(buf.subarray(0, n));
        } catch (err) {
          fail(err);
        }
      },
    },
  });
  io.register((err) => fail(err));
  socket.setNoDelay(true);
  socket.setTimeout(idleTimeoutMs, () => fail(new Error("no data either way for " + idleTimeoutMs / 1000 + " s")));
  // Latin-1, as node:http writes heads: a header byte over 0x7f goes as that byte.
  socket.once(secure ? "secureConnect" : "connect", () => socket.write(payload ? Buffer.concat([Buffer.from(requestHead, "latin1"), payload]) : Buffer.from(requestHead, "latin1")));
  socket.on("error", fail);
  socket.once("end", () => {
    if (done) return;
    if (answer && framing.endsWithConnection) {
      try {
        return complete();
      } catch (err) {
        return fail(err);
      }
    }
    fail(httpError(answer ? "the connection closed before the whole answer arrived" : "the server closed the connection without answering", "ECONNRESET"));
  });
  socket.once("close", () => {
    // Closed: no read lands in the buffer any more, and sinks keep no view of it past a callback.
    if (spareReadBuffers.length < MAX_SPARE_READ_BUFFERS) spareReadBuffers.push(readBuffer);
    fail(httpError("the connection closed before the whole answer arrived", "ECONNRESET"));
  });
}
/** The sink of a GET into a new file: created ("wx") when a 2xx answer's head came, removed if it fails. */
function fileSink(target, io) {
  const fd = fs.openSync(target, "wx");
  let closed = false;
  let unreported = 0;
  return {
    push(bytes) {
      for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off);
      unreported += bytes.length;
      if (unreported >= PROGRESS_BYTES) {
        io.progress(unreported);
        unreported = 0;
      }
    },
    finish() {
      closed = true;
      fs.closeSync(fd);
      if (unreported > 0) io.progress(unreported);
      return {};
    },
    discard() {
      try {
        if (!closed) fs.closeSync(fd);
      } catch {
        // The file goes anyway; its descriptor is gone either way (close frees it even when it fails).
      }
      closed = true;
      try {
        fs.rmSync(target, { force: true });
      } catch (e) {
        throw new Error("the partial file " + target + " could not be removed either: " + describe(e).message);
      }
    },
  };
}
`;
