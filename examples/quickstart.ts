/**
 * Quickstart: persist a folder across two sessions on the embedded store.
 * Run with `npm start`. Everything lives in a fresh temp directory, which is removed at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ContextSync, CtxSync, newSyncPolicy } from "../src/sdk/index.js";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-quickstart-"));
const say = (msg: string) => console.log(`• ${msg}`);

try {
  const client = new CtxSync({ home: path.join(work, "store") });
  const { contextId } = await client.context.get("my-notes", true);
  say(`context "my-notes" is ${contextId}`);

  // Session A: its filesystem lives under rootA; the context is mounted at /home/user/notes.
  const rootA = path.join(work, "session-a");
  const a = await client.create({ root: rootA, contextSync: [ContextSync.new(contextId, "/home/user/notes", newSyncPolicy())] });
  if (!a.session) throw new Error(a.errorMessage);
  const notesA = path.join(rootA, "home/user/notes");
  fs.mkdirSync(path.join(notesA, "ideas"), { recursive: true });
  fs.writeFileSync(path.join(notesA, "todo.txt"), "write the README\n");
  fs.writeFileSync(path.join(notesA, "ideas", "sync.md"), "# three-way merge\n");
  say(`session A wrote 2 files under ${notesA}`);

  const released = await a.session.delete(); // uploads autoUpload mounts before it returns
  say(`session A released (upload ${released.success ? "succeeded" : `failed: ${released.errorMessage}`})`);

  // Session B: a different root, the same context at the same path.
  const rootB = path.join(work, "session-b");
  const b = await client.create({ root: rootB, contextSync: [ContextSync.new(contextId, "/home/user/notes")] });
  if (!b.session) throw new Error(b.errorMessage);
  const notesB = path.join(rootB, "home/user/notes");
  say(`session B sees: todo.txt = ${JSON.stringify(fs.readFileSync(path.join(notesB, "todo.txt"), "utf8"))}`);
  say(`session B sees: ideas/sync.md = ${JSON.stringify(fs.readFileSync(path.join(notesB, "ideas/sync.md"), "utf8"))}`);

  const info = await b.session.context.info();
  for (const t of info.contextStatusData) say(`task ${t.taskType} of ${t.path}: ${t.status} (${t.filesDone}/${t.filesTotal} files)`);
  const files = await client.context.listFiles(contextId, "/home/user/notes");
  say(`context lists: ${files.entries.map((e) => `${e.fileName}${e.fileType === "FOLDER" ? "/" : ""}`).join(", ")}`);
  await b.session.delete();
  await client.close();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
