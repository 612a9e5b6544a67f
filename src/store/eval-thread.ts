import { Worker, type TransferListItem } from "node:worker_threads";

/**
 * A worker thread run from a string of CommonJS (node: modules only: the same under tsx, vitest and the
 * compiled build, with no file to resolve), called by message. A call is posted as `{ id, ...request }`;
 * the thread ends it by posting `{ id, answer }` and may post other messages with that id before (notes:
 * progress). Started on first call; it does not keep the process alive while idle. A thread that dies
 * fails the calls waiting on it, and only those (ThreadStoppedError); the next call starts a new one.
 */
export class EvalThread<Answer, Note = never> {
  /** The running thread and its calls (each thread its own: a dead one's late events fail only its own). */
  private current: { worker: Worker; waiting: Map<number, Waiting<Answer, Note>> } | undefined;
  private nextId = 0;

  /** `what` names the thread in errors ("blob writer", "download"). */
  constructor(
    private readonly what: string,
    private readonly code: string,
    private readonly workerData?: unknown,
  ) {}

  /**
   * Posts a call; `answer` settles with the thread's answer, or ThreadStoppedError. Throws
   * ThreadUnavailableError when no thread can be started here.
   */
  call(request: object, opts: { transfer?: readonly TransferListItem[]; onNote?: (note: Note) => void } = {}): { id: number; answer: Promise<Answer> } {
    const { worker, waiting } = this.started();
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve, reject) => waiting.set(id, { resolve, reject, onNote: opts.onNote }));
    worker.ref();
    worker.postMessage({ ...request, id }, opts.transfer);
    return { id, answer };
  }

  /** Posts a message outside any call (a cancel) to the running thread; none running: nothing to tell. */
  post(message: object): void {
    this.current?.worker.postMessage(message);
  }

  /** Stops the thread, if one runs: its calls fail (ThreadStoppedError); the next call starts a new one. */
  async stop(): Promise<void> {
    await this.current?.worker.terminate();
  }

  private started(): { worker: Worker; waiting: Map<number, Waiting<Answer, Note>> } {
    if (this.current) return this.current;
    let worker: Worker;
    try {
      worker = new Worker(this.code, { eval: true, workerData: this.workerData });
    } catch (err) {
      throw new ThreadUnavailableError(this.what, err);
    }
    const waiting = new Map<number, Waiting<Answer, Note>>();
    worker.on("message", (m: { id: number; answer?: Answer }) => {
      const w = waiting.get(m.id);
      if (!w) return;
      if (!("answer" in m)) return w.onNote?.(m as Note);
      waiting.delete(m.id);
      if (waiting.size === 0) worker.unref();
      w.resolve(m.answer as Answer);
    });
    const fail = (err: Error) => {
      if (this.current?.worker === worker) this.current = undefined;
      const stopped = new ThreadStoppedError(this.what, err);
      for (const w of waiting.values()) w.reject(stopped);
      waiting.clear();
    };
    worker.on("error", fail);
    worker.on("messageerror", fail);
    worker.on("exit", (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    this.current = { worker, waiting };
    return this.current;
  }
}

interface Waiting<Answer, Note> {
  resolve: (answer: Answer) => void;
  reject: (err: Error) => void;
  onNote: ((note: Note) => void) | undefined;
}

/**
 * No worker thread could be started here (code generation from strings disallowed, say): the caller
 * does the thread's work on its own thread instead. Internal, never shown to users, so no error code.
 */
export class ThreadUnavailableError extends Error {
  constructor(what: string, cause: unknown) {
    super(`No ${what} thread could be started: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ThreadUnavailableError";
  }
}

/** The thread died while calls were waiting on it; what they had done is unknown. Owners map it to their own error. */
export class ThreadStoppedError extends Error {
  constructor(what: string, cause: Error) {
    super(`The ${what} thread stopped (${cause.message})`, { cause });
    this.name = "ThreadStoppedError";
  }
}
