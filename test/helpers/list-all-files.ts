import type { CtxSync, FileEntry } from "../../src/sdk/index.js";

/**
 * Every file (not folder) of a context under `parent`, walking FOLDER entries through `listFiles`, sorted by
 * key. Throws when a listing fails, so a test never mistakes an error for an empty context.
 * `listAllFiles(client, ctx, "/w")` with `/w/a.txt`, `/w/d/e.txt` → entries for both.
 */
export async function listAllFiles(client: CtxSync, contextId: string, parent: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (folder: string): Promise<void> => {
    const r = await client.context.listFiles(contextId, folder, 1, 1000);
    if (!r.success) throw new Error(`listFiles(${folder}) failed: ${r.errorMessage}`);
    for (const e of r.entries) {
      if (e.fileType === "FOLDER") await walk(e.filePath);
      else out.push(e);
    }
  };
  await walk(parent);
  return out.sort((a, b) => (a.filePath < b.filePath ? -1 : a.filePath > b.filePath ? 1 : 0));
}

/** Keys of every file of a context under `parent`, sorted. */
export async function listAllKeys(client: CtxSync, contextId: string, parent: string): Promise<string[]> {
  return (await listAllFiles(client, contextId, parent)).map((e) => e.filePath);
}
