import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { Lifecycle } from "./lifecycle.js";
import { newRecyclePolicy } from "./recycle-policy.js";
import { compileRecyclePaths } from "./recycle-path-matcher.js";

describe("compileRecyclePaths", () => {
  const cases = [
    { name: "the default [\"\"] covers every file", policy: newRecyclePolicy(), yes: ["a", "b/c"], no: [] },
    { name: "a missing policy means the default", policy: undefined, yes: ["a"], no: [] },
    { name: "[] covers no file", policy: { paths: [] }, yes: [], no: ["a", "b/c"] },
    {
      name: "paths are relative to the mount, by whole segments",
      policy: { lifecycle: Lifecycle.LIFECYCLE_1DAY, paths: ["/tmp", "cache/"] },
      yes: ["tmp/a", "tmp", "cache/x/y"],
      no: ["tmpx/a", "src/tmp/a", "cachex"],
    },
  ];
  for (const c of cases) {
    describe(c.name, () => {
      const covers = compileRecyclePaths(c.policy);
      for (const p of c.yes) it(`covers ${p}`, () => expect(covers(p)).toBe(true));
      for (const p of c.no) it(`does not cover ${p}`, () => expect(covers(p)).toBe(false));
    });
  }

  it("rejects invalid paths", () => {
    expect(() => compileRecyclePaths({ paths: ["tmp/*"] })).toThrow(
      "Wildcard patterns are not supported in recycle policy paths. Got: tmp/*. Please use exact directory paths instead.",
    );
    expect(() => compileRecyclePaths({ paths: ["../x"] })).toThrow(InvalidParameterError);
  });
});
