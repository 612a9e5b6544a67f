import type { ContextRecord, ContextState } from "../store/index.js";

/** A context as the SDK returns it (the reference's `Context`), with ISO-8601 times. */
export class Context {
  constructor(
    public id: string,
    public name: string,
    public createdAt?: string,
    public lastUsedAt?: string,
    public state?: ContextState,
  ) {}

  static fromRecord(r: ContextRecord): Context {
    return new Context(r.id, r.name, new Date(r.createdAtMs).toISOString(), new Date(r.lastUsedAtMs).toISOString(), r.state);
  }
}
