/** What an archive entry is, as far as paths are concerned. */
export type EntryKind = "dir" | "file" | "symlink";

interface IndexNode {
  /** The name as the archive spells it. */
  raw: string;
  kind: EntryKind;
  /** Children keyed by NFC form; null for files and links. */
  children: Map<string, IndexNode> | null;
}

/**
 * Most bytes of entry names and link targets kept in memory. With maxEntries this bounds an extraction's
 * memory whatever the archive holds; real archives use a few MB (100,000 entries × ~60 bytes).
 */
const MAX_NAME_BYTES = 64 << 20;

/**
 * The paths an archive has produced so far, as a tree of names keyed by their Unicode NFC form, so that
 * conflicts are found whatever order entries come in and names shared by many entries are kept once.
 * Methods return why an entry may not be extracted (a phrase that follows the entry's name), or null.
 */
export class EntryIndex {
  private readonly root: IndexNode = { raw: "", kind: "dir", children: new Map() };
  private nameBytes = 0;

  /**
   * Records an entry at `segments` (at least one). Refused: a path through a file or link entry, a second
   * entry at one path (two folder entries are fine), and a name that equals another after NFC
   * normalisation but is spelled differently (`é` and `e\u0301`), which would be one file on macOS.
   */
  add(segments: readonly string[], kind: EntryKind): string | null {
    let node = this.root;
    for (let i = 0; i < segments.length; i++) {
      const raw = segments[i]!;
      const isLast = i === segments.length - 1;
      const key = raw.normalize("NFC");
      const found = node.children!.get(key);
      if (found) {
        const here = [...segments.slice(0, i), found.raw].join("/");
        if (found.raw !== raw) {
          return `has the same name as the entry ${JSON.stringify(here)} after Unicode normalisation (NFC); they would be one file on macOS`;
        }
        if (!isLast) {
          if (found.kind !== "dir") return `lies inside ${JSON.stringify(here)}, which is a ${nounOf(found.kind)} in the archive`;
          node = found;
          continue;
        }
        if (found.kind === "dir" && kind === "dir") return null;
        if (found.kind === kind) return "appears twice in the archive";
        return `is a ${nounOf(kind)} where the archive also has a ${nounOf(found.kind)}`;
      }
      const tooMany = this.charge(Buffer.byteLength(raw) + (key === raw ? 0 : Buffer.byteLength(key)));
      if (tooMany !== null) return tooMany;
      const nodeKind = isLast ? kind : "dir";
      const child: IndexNode = { raw, kind: nodeKind, children: nodeKind === "dir" ? new Map() : null };
      node.children!.set(key, child);
      node = child;
    }
    return null;
  }

  /** Counts `bytes` of text the caller keeps (link targets) against the same memory bound as names. */
  charge(bytes: number): string | null {
    this.nameBytes += bytes;
    if (this.nameBytes > MAX_NAME_BYTES) return `brings the archive's names to more than ${MAX_NAME_BYTES >> 20} MiB`;
    return null;
  }

  /** The kind of the entry spelled exactly `segments`, or null when the archive has none. */
  kindAt(segments: readonly string[]): EntryKind | null {
    let node: IndexNode | undefined = this.root;
    for (const seg of segments) {
      node = node.children?.get(seg.normalize("NFC"));
      if (!node || node.raw !== seg) return null;
    }
    return node.kind;
  }

  /**
   * Checks that the symlink entry at `linkSegments`, pointing to `steps` (see parseLinkTarget), resolves inside
   * the root once every entry is known. A link may point to a link but not through one: `b -> a/..` with
   * `a -> x/y` would leave the root although `a/..` names the root by spelling alone.
   */
  checkLink(linkSegments: readonly string[], steps: readonly string[]): string | null {
    const nodes: (IndexNode | null)[] = [this.root];
    const names: string[] = [];
    for (const seg of linkSegments.slice(0, -1)) {
      nodes.push(nodes[nodes.length - 1]?.children?.get(seg.normalize("NFC")) ?? null);
      names.push(seg);
    }
    for (const step of steps) {
      const at = nodes[nodes.length - 1] ?? null;
      if (at?.kind === "symlink") {
        return `is a link that passes through the link ${JSON.stringify(names.join("/"))}; links may point to links, not through them`;
      }
      if (step === "..") {
        if (nodes.length === 1) return "is a link that points outside the target";
        nodes.pop();
        names.pop();
      } else {
        nodes.push(at?.children?.get(step.normalize("NFC")) ?? null);
        names.push(step);
      }
    }
    return null;
  }
}

function nounOf(kind: EntryKind): string {
  return kind === "dir" ? "folder" : kind === "file" ? "file" : "link";
}
