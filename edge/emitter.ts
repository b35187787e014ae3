/**
 * One typed event emitter for the station's parts (ledger commits, lock-bus events, device
 * health, dispenser answers, broker refusals). A listener that throws cannot break the
 * emitter: the error is logged and counted, the other listeners still run, and the emitter's
 * caller never sees it — so a committed ledger transaction stays a success whatever a listener
 * does after the commit.
 */
import type { Logger } from './log.ts';

export class Emitter<A extends unknown[]> {
  private readonly listeners = new Set<(...args: A) => void>();
  /** Listener calls that threw, since start (the station's metrics show the ledger's). */
  errors = 0;

  /** `name` says which emitter in the log; `log` may be undefined (then errors are only counted). */
  constructor(
    private readonly name: string,
    private readonly log?: Pick<Logger, 'error'>,
  ) {}

  /** Add a listener; returns the function that removes it. */
  on(listener: (...args: A) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  emit(...args: A): void {
    for (const l of this.listeners) {
      try {
        l(...args);
      } catch (err) {
        this.errors++;
        this.log?.error({ err, emitter: this.name }, 'event listener threw; the event itself stands');
      }
    }
  }
}
