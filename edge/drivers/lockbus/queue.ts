/**
 * The bus's request queue: one job at a time (RS-485 is half duplex and a board answers only
 * when asked, SPEC §6), rider-facing jobs ahead of background polls.
 */
export type Priority = 'high' | 'low';

interface Job {
  priority: Priority;
  run: () => Promise<void>;
}

export class SerialQueue {
  private readonly jobs: Job[] = [];
  private running = false;
  private closedWith: Error | undefined;

  /** Queue `fn`; resolves with its result once it has run. */
  push<T>(priority: Priority, fn: () => Promise<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const job: Job = { priority, run: () => fn().then(resolve, reject) };
      if (priority === 'high') {
        const firstLow = this.jobs.findIndex((j) => j.priority === 'low');
        this.jobs.splice(firstLow < 0 ? this.jobs.length : firstLow, 0, job);
      } else this.jobs.push(job);
      void this.pump();
    });
  }

  get length(): number {
    return this.jobs.length + (this.running ? 1 : 0);
  }

  open(): void {
    this.closedWith = undefined;
  }

  /** Refuse new jobs; queued ones are dropped (their callers get `err` through `fn`'s own checks). */
  close(err: Error): void {
    this.closedWith = err;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) await job.run();
    } finally {
      this.running = false;
    }
  }
}
