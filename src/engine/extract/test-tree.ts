/** Lists a folder for tests, links never followed. */
import fs from "node:fs";
import path from "node:path";

/** Every path under `dir`, sorted: folders end in `/`, symlinks read `name -> target`.  `["a/", "a/b.txt", "l -> a"]` */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(path.join(dir, r))}`);
      else if (d.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else out.push(r);
    }
  };
  if (fs.existsSync(dir)) walk("");
  return out.sort();
}
