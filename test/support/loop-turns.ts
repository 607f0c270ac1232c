/**
 * Watches a count at every turn of the event loop: `stop()` says how many different values strictly between 0
 * and `total` it saw, that is how many times the loop turned while the work was part done.
 */
export function watchTurns(count: () => number, total: number): { stop: () => number } {
  const midway = new Set<number>();
  let done = false;
  const tick = () => {
    const n = count();
    if (n > 0 && n < total) midway.add(n);
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      done = true;
      return midway.size;
    },
  };
}
