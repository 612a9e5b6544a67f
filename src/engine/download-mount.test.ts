import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SyncPolicy } from "../policy/index.js";
import { LocalDirBlobStore, SqliteMetaStore, type BlobStore, type MetaStore } from "../store/index.js";
import { systemClock } from "./clock.js";
import { downloadMount } from "./download-mount.js";
import { MountLayout } from "./mount-spec.js";
import { uploadMount } from "./upload-mount.js";

const MOUNT = "/w";
const SESSION = "sess-1";
/** Enough for more batches (of 256) than any number of calls in flight tested here. */
const SMALL_FILES = 2000;

describe("downloadMount scheduling", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: LocalDirBlobStore;
  let tenantId: string;
  let contextId: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-download-"));
    meta = SqliteMetaStore.open(path.join(dir, "meta.db"));
    blobs = await LocalDirBlobStore.open(path.join(dir, "blobs"));
    tenantId = await meta.ensureTenant("acme");
    contextId = (await meta.createContext(tenantId, "c", Date.now())).id;
    await meta.createSession({ id: SESSION, tenantId, status: "running", root: "/", labels: {}, createdAtMs: Date.now() }, []);
  });
  afterEach(async () => {
    await meta.close();
    await blobs.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const layout = (root: string) => new MountLayout(path.join(dir, root), { contextId, path: MOUNT, namespace: MOUNT, policy: new SyncPolicy() });

  /** Two files over the 16 MiB batch size (a fetch each) and enough small files for many batches, uploaded. */
  const uploadSource = async (): Promise<string> => {
    const src = path.join(dir, "src", "w");
    fs.mkdirSync(src, { recursive: true });
    for (const n of [0, 1]) fs.writeFileSync(path.join(src, `large-${n}.bin`), Buffer.alloc((16 << 20) + 1, n + 1));
    for (let i = 0; i < SMALL_FILES; i++) fs.writeFileSync(path.join(src, `small-${i}.txt`), `small file ${i}\n`);
    const up = await uploadMount({ meta, blobs, clock: systemClock }, { tenantId, sessionId: SESSION, layout: layout("src") });
    expect(up.problems).toEqual([]);
    return src;
  };

  /**
   * The real store, whose large fetches wait until every small one is done: the small files then all
   * arrive while the large ones are in flight, and the most small calls seen at once is their limit.
   */
  const gated = (fetchCallsInFlight?: number) => {
    let smallInFlight = 0;
    let mostSmallInFlight = 0;
    let smallLeft = SMALL_FILES;
    let smallDone!: () => void;
    const allSmallDone = new Promise<void>((resolve) => (smallDone = resolve));
    const fetchFiles: BlobStore["fetchFiles"] = async (items, onProgress) => {
      if (items.some((i) => i.sizeBytes > 16 << 20)) {
        await allSmallDone;
        return blobs.fetchFiles(items, onProgress);
      }
      mostSmallInFlight = Math.max(mostSmallInFlight, ++smallInFlight);
      try {
        return await blobs.fetchFiles(items, onProgress);
      } finally {
        smallInFlight--;
        smallLeft -= items.length;
        if (smallLeft === 0) smallDone();
      }
    };
    const store = new Proxy(blobs, {
      get(target, prop) {
        if (prop === "fetchFiles") return fetchFiles;
        if (prop === "fetchCallsInFlight") return fetchCallsInFlight;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { store, mostSmallInFlight: () => mostSmallInFlight };
  };

  it("keeps the small files' batches going while large files stream, instead of leaving them one place", async () => {
    const src = await uploadSource();
    const { store, mostSmallInFlight } = gated();
    const down = await downloadMount({ meta, blobs: store, clock: systemClock }, { sessionId: SESSION, layout: layout("dst") });
    expect(down).toMatchObject({ written: SMALL_FILES + 2, problems: [] });
    expect(mostSmallInFlight()).toBe(3);
    const dst = path.join(dir, "dst", "w");
    expect(fs.readFileSync(path.join(dst, "large-1.bin")).equals(fs.readFileSync(path.join(src, "large-1.bin")))).toBe(true);
    expect(fs.readFileSync(path.join(dst, `small-${SMALL_FILES - 1}.txt`), "utf8")).toBe(`small file ${SMALL_FILES - 1}\n`);
  });

  it("keeps as many small calls in flight as the store asks for (fetchCallsInFlight)", async () => {
    await uploadSource();
    const { store, mostSmallInFlight } = gated(5);
    const down = await downloadMount({ meta, blobs: store, clock: systemClock }, { sessionId: SESSION, layout: layout("dst") });
    expect(down).toMatchObject({ written: SMALL_FILES + 2, problems: [] });
    expect(mostSmallInFlight()).toBe(5);
  });
});
