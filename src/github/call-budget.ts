import type { Octokit } from "./client.js";

/** Thrown instead of a call once the budget is spent; never retried (retry.ts treats it as final). */
export class CallBudgetError extends Error {
  constructor(max: number) {
    super(`the cap of ${max} GitHub calls for this run was reached`);
    this.name = "CallBudgetError";
  }
}

/**
 * A cap on the GitHub calls one piece of work may make (a pull request's check run), so that what an outsider
 * can trigger cannot spend the installation's hourly limit that reviews depend on. Counts every request the
 * Octokit makes while open; refuses those past `max`.
 */
export class CallBudget {
  #used = 0;
  #refused = 0;
  #open = true;

  constructor(readonly max: number) {}

  /** Counts `octokit`'s requests from now on (Octokit hooks cannot be removed: `close` stops the counting). */
  watch(octokit: Octokit): void {
    octokit.hook.before("request", () => {
      if (!this.#open) return;
      if (this.#used >= this.max) {
        this.#refused++;
        throw new CallBudgetError(this.max);
      }
      this.#used++;
    });
  }

  get used(): number {
    return this.#used;
  }

  /** Some call was refused: what depended on it is incomplete. */
  get refused(): number {
    return this.#refused;
  }

  get spent(): boolean {
    return this.#used >= this.max;
  }

  /** The work is done: later calls (posting its result) are not counted. */
  close(): void {
    this.#open = false;
  }
}
