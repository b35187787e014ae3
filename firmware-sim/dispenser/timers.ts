/**
 * The simulator's timers, so that a power loss or `stop()` clears every one of them at once
 * (STYLE.md §6): one-shot timers (the motor, a restart, a late event) and the telemetry period;
 * and a wait for an event with a time limit.
 */
import type { EventEmitter } from 'node:events';

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private periodic: NodeJS.Timeout | undefined;

  /** Run `fn` once after `ms`, unless cleared first. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    this.pending.add(t);
  }

  /** Run `fn` every `ms` until cleared (one periodic timer: the telemetry period). */
  every(ms: number, fn: () => void): void {
    this.periodic = setInterval(fn, ms);
  }

  clear(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = undefined;
  }
}

/** Resolves on the next `event` of `emitter`; rejects with `message` after `timeoutMs` (and stops listening). */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs: number, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      emitter.off(event, done);
      reject(new Error(message));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    emitter.once(event, done);
  });
}
