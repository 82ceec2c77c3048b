import { performance } from "node:perf_hooks";
import { ServiceBusyError } from "./errors.js";

/** A place in a `Lane`, taken before the work that leads to the task (a database read) is done. */
export interface LaneTicket {
  /** Runs the task in this place, waiting for a free slot first. At most once. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Gives the place back unused; a no-op once `run` was called. */
  release(): void;
}

/**
 * Runs at most `size` tasks at once and queues up to `queueLimit` more in arrival order; past
 * that, a newcomer is refused at once with `ServiceBusyError`. Password hashing goes through one
 * of these so that a burst of logins can neither take every core from ordinary requests nor make
 * a real user wait behind an unbounded queue.
 */
export class Lane {
  readonly #size: number;
  readonly #queueLimit: number;
  #running = 0;
  // Tickets taken but not yet run: they hold a place in the queue while their caller reads the database.
  #held = 0;
  readonly #waiting: Array<() => void> = [];
  // Moving average of a task's duration, for the Retry-After of a refusal.
  #averageMs = 50;

  constructor(size: number, queueLimit: number) {
    this.#size = size;
    this.#queueLimit = queueLimit;
  }

  /** Tasks waiting for a free slot, and places taken but not yet used. */
  get queued(): number {
    return this.#waiting.length + this.#held;
  }

  /** Takes a place now; throws `ServiceBusyError` when every slot and queue place is taken. */
  admit(): LaneTicket {
    if (this.#running + this.queued >= this.#size + this.#queueLimit) {
      const waitMs = ((this.queued + 1) / this.#size) * this.#averageMs;
      throw new ServiceBusyError(Math.max(1, Math.ceil(waitMs / 1000)));
    }
    this.#held++;
    let state: "held" | "used" = "held";
    return {
      run: <T>(task: () => Promise<T>): Promise<T> => {
        if (state !== "held") return Promise.reject(new Error("a lane ticket runs one task"));
        state = "used";
        this.#held--;
        return this.#run(task);
      },
      release: (): void => {
        if (state !== "held") return;
        state = "used";
        this.#held--;
      },
    };
  }

  /** Takes a place and runs the task in it; throws `ServiceBusyError` when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.admit().run(task);
  }

  async #run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#size) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    const started = performance.now();
    try {
      return await task();
    } finally {
      this.#averageMs += (performance.now() - started - this.#averageMs) / 8;
      const next = this.#waiting.shift();
      // The slot passes straight to the next task, so the count never dips and lets a newcomer jump the queue.
      if (next) next();
      else this.#running--;
    }
  }
}
