import { mapConcurrent } from "./map-concurrent.js";

/**
 * mapConcurrent in two lanes: the items `isLarge` picks run at most `limits.large` at a time, the others at
 * most `limits.small` (say, large uploads that each hold parts in memory beside small ones that hold only
 * themselves). Results come back in item order. When a call rejects, its lane starts nothing further; the
 * other lane still finishes, so no call is left running unobserved, and then the first rejection is thrown.
 */
export async function mapInLanes<T, R>(
  items: readonly T[],
  isLarge: (item: T) => boolean,
  limits: { small: number; large: number },
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const small: number[] = [];
  const large: number[] = [];
  items.forEach((item, i) => (isLarge(item) ? large : small).push(i));
  const run = (indexes: number[], limit: number) =>
    mapConcurrent(indexes, limit, async (i) => {
      results[i] = await fn(items[i]!, i);
    });
  const lanes = await Promise.allSettled([run(small, limits.small), run(large, limits.large)]);
  for (const lane of lanes) if (lane.status === "rejected") throw lane.reason;
  return results;
}
