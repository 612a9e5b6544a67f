/**
 * Cuts `items`, in order, into batches of at most `maxItems` items whose sizes add up to at most
 * `maxBytes` (a single item larger than that gets a batch of its own).
 */
export function batchesOf<T>(items: Iterable<T>, sizeOf: (item: T) => number, maxItems: number, maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
