import { describe, expect, it } from "vitest";
import { DOWNLOAD_STRATEGIES, DownloadStrategy, UPLOAD_MODES, UPLOAD_STRATEGIES, UploadMode, UploadStrategy } from "./enums.js";
import { isUploadMode, isUploadStrategy, isDownloadStrategy } from "./enums.js";
import { LIFECYCLES, Lifecycle, isLifecycle, lifecycleDurationMs } from "./lifecycle.js";

const DAY_MS = 86_400_000;

describe("enum values", () => {
  it("use the seed's wire strings", () => {
    expect(UploadStrategy.UPLOAD_BEFORE_RESOURCE_RELEASE).toBe("UploadBeforeResourceRelease");
    expect(DownloadStrategy.DOWNLOAD_ASYNC).toBe("DownloadAsync");
    expect(UploadMode.FILE).toBe("File");
    expect(UploadMode.ARCHIVE).toBe("Archive");
    expect(Lifecycle.LIFECYCLE_FOREVER).toBe("Lifecycle_Forever");
  });

  it("accept AgentBay's TypeScript member names as aliases of the seed's", () => {
    expect(UploadStrategy.UploadBeforeResourceRelease).toBe(UploadStrategy.UPLOAD_BEFORE_RESOURCE_RELEASE);
    expect(DownloadStrategy.DownloadAsync).toBe(DownloadStrategy.DOWNLOAD_ASYNC);
    expect(UploadMode.File).toBe(UploadMode.FILE);
    expect(UploadMode.Archive).toBe(UploadMode.ARCHIVE);
    const pairs: [Lifecycle, Lifecycle, string][] = [
      [Lifecycle.Lifecycle_1Day, Lifecycle.LIFECYCLE_1DAY, "Lifecycle_1Day"],
      [Lifecycle.Lifecycle_3Days, Lifecycle.LIFECYCLE_3DAYS, "Lifecycle_3Days"],
      [Lifecycle.Lifecycle_5Days, Lifecycle.LIFECYCLE_5DAYS, "Lifecycle_5Days"],
      [Lifecycle.Lifecycle_10Days, Lifecycle.LIFECYCLE_10DAYS, "Lifecycle_10Days"],
      [Lifecycle.Lifecycle_15Days, Lifecycle.LIFECYCLE_15DAYS, "Lifecycle_15Days"],
      [Lifecycle.Lifecycle_30Days, Lifecycle.LIFECYCLE_30DAYS, "Lifecycle_30Days"],
      [Lifecycle.Lifecycle_90Days, Lifecycle.LIFECYCLE_90DAYS, "Lifecycle_90Days"],
      [Lifecycle.Lifecycle_180Days, Lifecycle.LIFECYCLE_180DAYS, "Lifecycle_180Days"],
      [Lifecycle.Lifecycle_360Days, Lifecycle.LIFECYCLE_360DAYS, "Lifecycle_360Days"],
      [Lifecycle.Lifecycle_Forever, Lifecycle.LIFECYCLE_FOREVER, "Lifecycle_Forever"],
    ];
    for (const [alias, seed, wire] of pairs) {
      expect(alias).toBe(seed);
      expect(seed).toBe(wire);
    }
  });

  it("list each distinct value once, in the reference's message order", () => {
    expect(UPLOAD_MODES).toEqual(["File", "Archive"]);
    expect(UPLOAD_STRATEGIES).toEqual(["UploadBeforeResourceRelease"]);
    expect(DOWNLOAD_STRATEGIES).toEqual(["DownloadAsync"]);
    expect(LIFECYCLES).toEqual([
      "Lifecycle_1Day",
      "Lifecycle_3Days",
      "Lifecycle_5Days",
      "Lifecycle_10Days",
      "Lifecycle_15Days",
      "Lifecycle_30Days",
      "Lifecycle_90Days",
      "Lifecycle_180Days",
      "Lifecycle_360Days",
      "Lifecycle_Forever",
    ]);
    expect(new Set(Object.values(Lifecycle))).toEqual(new Set(LIFECYCLES));
  });

  it("have type guards that accept exactly the listed values", () => {
    expect(isUploadMode("Archive")).toBe(true);
    expect(isUploadMode("archive")).toBe(false);
    expect(isUploadStrategy("UploadBeforeResourceRelease")).toBe(true);
    expect(isUploadStrategy("UploadNow")).toBe(false);
    expect(isDownloadStrategy("DownloadAsync")).toBe(true);
    expect(isDownloadStrategy(undefined)).toBe(false);
    expect(isLifecycle("Lifecycle_90Days")).toBe(true);
    expect(isLifecycle("Lifecycle_2Days")).toBe(false);
    expect(isLifecycle(1)).toBe(false);
  });
});

describe("lifecycleDurationMs", () => {
  const cases: [Lifecycle, number | null][] = [
    [Lifecycle.LIFECYCLE_1DAY, 1 * DAY_MS],
    [Lifecycle.LIFECYCLE_3DAYS, 3 * DAY_MS],
    [Lifecycle.LIFECYCLE_5DAYS, 5 * DAY_MS],
    [Lifecycle.LIFECYCLE_10DAYS, 10 * DAY_MS],
    [Lifecycle.LIFECYCLE_15DAYS, 15 * DAY_MS],
    [Lifecycle.LIFECYCLE_30DAYS, 30 * DAY_MS],
    [Lifecycle.LIFECYCLE_90DAYS, 90 * DAY_MS],
    [Lifecycle.LIFECYCLE_180DAYS, 180 * DAY_MS],
    [Lifecycle.LIFECYCLE_360DAYS, 360 * DAY_MS],
    [Lifecycle.LIFECYCLE_FOREVER, null],
  ];
  for (const [lifecycle, want] of cases) {
    it(`gives ${lifecycle} a lifetime of ${want === null ? "forever (null)" : `${want / DAY_MS} days`}`, () => {
      expect(lifecycleDurationMs(lifecycle)).toBe(want);
    });
  }

  it("rejects a value that is not a lifecycle with the reference's message", () => {
    expect(() => lifecycleDurationMs("Lifecycle_2Days" as Lifecycle)).toThrow(
      "Invalid lifecycle value: Lifecycle_2Days. Valid values are: Lifecycle_1Day, Lifecycle_3Days, Lifecycle_5Days, Lifecycle_10Days, Lifecycle_15Days, Lifecycle_30Days, Lifecycle_90Days, Lifecycle_180Days, Lifecycle_360Days, Lifecycle_Forever",
    );
  });
});
