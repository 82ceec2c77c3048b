/**
 * Runs at most `size` tasks at once and queues the rest in arrival order. Password hashing goes
 * through one of these so that a burst of logins cannot take every core from ordinary requests.
 */
export class Lane {
  readonly #size: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Tasks currently waiting for a free place. */
  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#size) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The place passes straight to the next task, so the count never dips and lets a newcomer jump the queue.
      if (next) next();
      else this.#running--;
    }
  }
}
