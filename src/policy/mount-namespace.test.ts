import { describe, expect, it } from "vitest";
import { ContextSync } from "./context-sync.js";
import { mountNamespace } from "./mount-namespace.js";

describe("mountNamespace", () => {
  const cases = [
    { name: "is the canonical mount path without a mapping", cs: new ContextSync("c", "/home/user/data/"), want: "/home/user/data" },
    { name: "is the canonical Windows mount path", cs: new ContextSync("c", "C:\\Users\\A\\Downloads"), want: "/c:/Users/A/Downloads" },
    {
      name: "is the canonical mapping path when one is set",
      cs: new ContextSync("c", "/home/user/Downloads", { mappingPolicy: { path: "c:\\Users\\Administrator\\Downloads" } }),
      want: "/c:/Users/Administrator/Downloads",
    },
    {
      name: "ignores an empty mapping path",
      cs: new ContextSync("c", "/home/user/Downloads", { mappingPolicy: { path: "" } }),
      want: "/home/user/Downloads",
    },
  ];
  for (const c of cases) it(c.name, () => expect(mountNamespace(c.cs)).toBe(c.want));
});
