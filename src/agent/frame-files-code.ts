/**
 * Source of `frameFilesSink`, for the download thread: the sink (see plain-http-code.ts) of a blob
 * fetch answer (POST /v1/agent/blobs/fetch, blob frames: src/api/blob-frames.ts) that writes each
 * blob straight into its new files as its bytes arrive, a frame's bytes never held whole.
 *
 * `frameFilesSink({ digests, targets, maxBlobBytes }, io)`: the frames must come one per digest, in
 * order; targets[i] are the files of digests[i] (one blob may fill several), each created anew ("wx").
 * The answer's `outcomes[i][k]` says how targets[i][k] ended: null (written whole), { status:
 * "notFound" | "unreadable" } (the server's frame said so; no file), or { error: { message, code } }
 * (this file could not be created or written; none is left that we created). An answer that breaks
 * the frame rules (out of order, too large, cut inside a frame) fails with `answerFault` set: the
 * blobs before it stand, the rest are unanswered. A failure midway removes the files of the frame in
 * progress; finished ones stay for the caller, which knows whether to keep them.
 */
export const FRAME_FILES_CODE = `
const FRAME_HEADER_BYTES = 37;
const FRAME_STATUS = { 1: "notFound", 2: "unreadable" };
function answerFault(message) {
  return Object.assign(new Error(message), { answerFault: true });
}
function frameFilesSink({ digests, targets, maxBlobBytes }, io) {
  const outcomes = digests.map(() => undefined);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  let headerBytes = 0;
  let n = 0; // frames finished
  let left = -1; // bytes of the current frame still to come; -1 while reading a header
  let open = []; // the current frame's files: { fd, k }
  let unreported = 0;
  /** Fails one file of the current frame and removes it; its descriptor is closed unless \`closed\`. */
  const fileFailed = (f, err, closed) => {
    outcomes[n][f.k] = { error: describe(err) };
    try {
      // Never twice: a freed descriptor number may already be another thread's file.
      if (!closed) fs.closeSync(f.fd);
    } catch {}
    try {
      fs.rmSync(targets[n][f.k], { force: true });
    } catch (e) {
      outcomes[n][f.k].error.message += "; the partial file could not be removed either: " + describe(e).message;
    }
  };
  const startFrame = () => {
    const digest = header.toString("hex", 0, 32);
    const status = header[32];
    const size = header.readUInt32BE(33);
    if (n >= digests.length) throw answerFault("The server answered a blob fetch with more frames than blobs asked for (" + digests.length + ").");
    if (digest !== digests[n]) throw answerFault("The server answered a blob fetch out of order: blob " + digest + " instead of " + digests[n] + ".");
    if (FRAME_STATUS[status]) {
      if (size !== 0) throw answerFault("Blob frame for " + digest + " has status " + FRAME_STATUS[status] + " and " + size + " bytes; it must have none.");
      outcomes[n] = targets[n].map(() => ({ status: FRAME_STATUS[status] }));
      n++;
      return;
    }
    if (status !== 0) throw answerFault("The server answered a blob fetch with a frame of status " + status + " for blob " + digest + ".");
    if (size > maxBlobBytes) throw answerFault("Blob " + digest + " in a fetch answer has " + size + " bytes, over the " + maxBlobBytes + " a frame may carry.");
    outcomes[n] = targets[n].map(() => null);
    open = [];
    targets[n].forEach((target, k) => {
      try {
        open.push({ fd: fs.openSync(target, "wx"), k });
      } catch (err) {
        // EEXIST: not our file, so not ours to remove either.
        outcomes[n][k] = { error: describe(err) };
      }
    });
    left = size;
    if (left === 0) endFrame(0);
  };
  const write = (bytes) => {
    for (const f of open) {
      if (outcomes[n][f.k] !== null) continue;
      try {
        for (let off = 0; off < bytes.length; ) off += fs.writeSync(f.fd, bytes, off);
      } catch (err) {
        fileFailed(f, err);
      }
    }
  };
  const endFrame = (size) => {
    for (const f of open) {
      if (outcomes[n][f.k] !== null) continue;
      try {
        fs.closeSync(f.fd);
        unreported += size;
      } catch (err) {
        fileFailed(f, err, true); // close frees the descriptor even when it fails
      }
    }
    open = [];
    n++;
    left = -1;
    if (unreported >= PROGRESS_BYTES) {
      io.progress(unreported);
      unreported = 0;
    }
  };
  let frameSize = 0;
  return {
    push(bytes) {
      let i = 0;
      while (i < bytes.length) {
        if (left < 0) {
          const take = Math.min(FRAME_HEADER_BYTES - headerBytes, bytes.length - i);
          bytes.copy(header, headerBytes, i, i + take);
          headerBytes += take;
          i += take;
          if (headerBytes === FRAME_HEADER_BYTES) {
            headerBytes = 0;
            frameSize = header.readUInt32BE(33);
            startFrame();
          }
          continue;
        }
        const piece = bytes.subarray(i, i + left);
        write(piece);
        left -= piece.length;
        i += piece.length;
        if (left === 0) endFrame(frameSize);
      }
    },
    finish() {
      if (left >= 0 || headerBytes > 0) {
        const where = n < digests.length ? "inside the frame of blob " + digests[n] : "with stray bytes after the last frame";
        throw answerFault("The server's answer to a blob fetch ended " + where + ".");
      }
      if (n < digests.length) throw answerFault("The server's answer to a blob fetch ended before blob " + digests[n] + ".");
      if (unreported > 0) io.progress(unreported);
      return { outcomes };
    },
    discard() {
      // The frame in progress: its files are partial.
      if (left >= 0) {
        for (const f of open) if (outcomes[n][f.k] === null) fileFailed(f, new Error("cut short"));
        outcomes[n] = undefined;
      }
      open = [];
      if (unreported > 0) io.progress(unreported);
      return { outcomes };
    },
  };
}
`;
