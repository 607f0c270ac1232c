/**
 * lru-cache options bounding a cache at `entries` entries, given as a total size of one per entry rather than as
 * `max`: with `max`, lru-cache allocates its arrays for every entry when the cache is made (13 ms for 100,000,
 * at every start of a server or a CLI command); these grow with use, at about 0.5 µs more per operation.
 */
export function countBound(entries: number): { maxSize: number; sizeCalculation: () => number } {
  return { maxSize: entries, sizeCalculation: () => 1 };
}
