/** Items a job judges or records between two turns of the event loop. */
const ITEMS_PER_TURN = 100;

/**
 * Lets the event loop turn after every ITEMS_PER_TURN items (`n` counts from 0): judging and recording
 * thousands of items is otherwise one stretch of seconds without I/O, during which webhooks wait and the org
 * lock goes unrenewed (another replica would take the org over and run the job again).
 */
export async function breather(n: number): Promise<void> {
  if (n % ITEMS_PER_TURN === ITEMS_PER_TURN - 1) await new Promise((resolve) => setImmediate(resolve));
}
