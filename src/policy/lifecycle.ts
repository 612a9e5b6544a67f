import { InvalidParameterError } from "../errors/index.js";

/**
 * How long a file written by an upload under a recycle path lives before it expires. Members carry the seed's
 * names (`Lifecycle.LIFECYCLE_1DAY`) and AgentBay's TypeScript names (`Lifecycle.Lifecycle_1Day`).
 */
export const Lifecycle = {
  LIFECYCLE_1DAY: "Lifecycle_1Day",
  LIFECYCLE_3DAYS: "Lifecycle_3Days",
  LIFECYCLE_5DAYS: "Lifecycle_5Days",
  LIFECYCLE_10DAYS: "Lifecycle_10Days",
  LIFECYCLE_15DAYS: "Lifecycle_15Days",
  LIFECYCLE_30DAYS: "Lifecycle_30Days",
  LIFECYCLE_90DAYS: "Lifecycle_90Days",
  LIFECYCLE_180DAYS: "Lifecycle_180Days",
  LIFECYCLE_360DAYS: "Lifecycle_360Days",
  LIFECYCLE_FOREVER: "Lifecycle_Forever",
  Lifecycle_1Day: "Lifecycle_1Day",
  Lifecycle_3Days: "Lifecycle_3Days",
  Lifecycle_5Days: "Lifecycle_5Days",
  Lifecycle_10Days: "Lifecycle_10Days",
  Lifecycle_15Days: "Lifecycle_15Days",
  Lifecycle_30Days: "Lifecycle_30Days",
  Lifecycle_90Days: "Lifecycle_90Days",
  Lifecycle_180Days: "Lifecycle_180Days",
  Lifecycle_360Days: "Lifecycle_360Days",
  Lifecycle_Forever: "Lifecycle_Forever",
} as const;
/** A value of Lifecycle, e.g. `"Lifecycle_30Days"`. */
export type Lifecycle = (typeof Lifecycle)[keyof typeof Lifecycle];

const DAY_MS = 24 * 60 * 60 * 1000;

// Days per lifecycle; null = never expires. Insertion order is the order error messages list the values.
const LIFECYCLE_DAYS: ReadonlyMap<Lifecycle, number | null> = new Map<Lifecycle, number | null>([
  [Lifecycle.LIFECYCLE_1DAY, 1],
  [Lifecycle.LIFECYCLE_3DAYS, 3],
  [Lifecycle.LIFECYCLE_5DAYS, 5],
  [Lifecycle.LIFECYCLE_10DAYS, 10],
  [Lifecycle.LIFECYCLE_15DAYS, 15],
  [Lifecycle.LIFECYCLE_30DAYS, 30],
  [Lifecycle.LIFECYCLE_90DAYS, 90],
  [Lifecycle.LIFECYCLE_180DAYS, 180],
  [Lifecycle.LIFECYCLE_360DAYS, 360],
  [Lifecycle.LIFECYCLE_FOREVER, null],
]);

/** Every valid Lifecycle, shortest first, `Lifecycle_Forever` last (the reference's message order). */
export const LIFECYCLES: readonly Lifecycle[] = [...LIFECYCLE_DAYS.keys()];

/** True when `value` is one of LIFECYCLES. */
export function isLifecycle(value: unknown): value is Lifecycle {
  return LIFECYCLE_DAYS.has(value as Lifecycle);
}

/**
 * The reference's message for a bad lifecycle; `shown` is the offending value as text.
 * `"7d"` → `Invalid lifecycle value: 7d. Valid values are: Lifecycle_1Day, …, Lifecycle_Forever`.
 */
export function invalidLifecycleMessage(shown: string): string {
  return `Invalid lifecycle value: ${shown}. Valid values are: ${LIFECYCLES.join(", ")}`;
}

/**
 * Milliseconds a file lives under `lifecycle`, or null for `Lifecycle_Forever`.
 * `Lifecycle_30Days` → 2_592_000_000. Throws InvalidParameterError for a value that is not a Lifecycle.
 */
export function lifecycleDurationMs(lifecycle: Lifecycle): number | null {
  const days = LIFECYCLE_DAYS.get(lifecycle);
  if (days === undefined) throw new InvalidParameterError(invalidLifecycleMessage(String(lifecycle)));
  return days === null ? null : days * DAY_MS;
}
