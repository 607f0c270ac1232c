/**
 * When each non-compliant grant was first seen so, by `org#pat_id`: a grant is revoked only once its grace
 * period has passed. The grants audit loads an org's part before judging and saves it after.
 */
export interface GraceMemory {
  /** The org's entries; the caller may change the map and save it. */
  load(org: string): Promise<Map<string, number>>;
  /** Replaces the org's entries with `entries`. */
  save(org: string, entries: Map<string, number>): Promise<void>;
}

/** One process's memory: lost on restart, as a single process always had it. */
export class LocalGraceMemory implements GraceMemory {
  readonly #byOrg = new Map<string, Map<string, number>>();

  async load(org: string): Promise<Map<string, number>> {
    return new Map(this.#byOrg.get(org.toLowerCase()));
  }

  async save(org: string, entries: Map<string, number>): Promise<void> {
    this.#byOrg.set(org.toLowerCase(), new Map(entries));
  }
}
