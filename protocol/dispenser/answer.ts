/**
 * A dispenser's answer to a dispense or a query as the edge reads it (SPEC §5): the pure
 * reading of an `evt/dispense` payload, shared by the driver that receives it and the core
 * that settles claims with it.
 */
import type { DispenseEvent } from './topics.ts';

/** The final answer to a dispense, or `timeout` when none came in time. */
export type DispenseAnswer =
  | { result: 'dropped' }
  | { result: 'rejected'; reason: string }
  | { result: 'failed'; reason: string }
  | { result: 'indeterminate' }
  | { result: 'timeout' };

/** The answer to a query: the stored outcome, `unknown` (never seen) or `timeout`. */
export type QueryAnswer = DispenseAnswer | { result: 'unknown' };

/** A device's final (or query) answer; undefined for `accepted`, which is not an answer. */
export function answerOf(evt: DispenseEvent): QueryAnswer | undefined {
  switch (evt.result) {
    case 'dropped':
      return { result: 'dropped' };
    case 'rejected':
      return { result: 'rejected', reason: evt.reason ?? 'unspecified' };
    case 'failed':
      return { result: 'failed', reason: evt.reason ?? 'unspecified' };
    case 'indeterminate':
      return { result: 'indeterminate' };
    case 'unknown':
      return { result: 'unknown' };
    case 'accepted':
      return undefined;
  }
}
