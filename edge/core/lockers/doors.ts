/**
 * What a door observation means (SPEC §6a): a door seen closed after a deposit starts the
 * storage clock, after a retrieve frees the compartment; a door found open that no unlock of
 * ours explains is a `door_forced:{compartment}` fault on its board; every door of a board
 * reading open at once is one `feedback_suspect` fault instead (inverted or broken feedback).
 */
import type { Clock } from '../../../protocol/time.ts';
import { boardDeviceId } from '../../../protocol/index.ts';
import type { LockBusEvent } from '../device-ports.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { Logger } from '../../log.ts';
import type { DeviceHealth } from '../health.ts';
import { feedbackLooksWrong, openExpected, type Compartment } from './model.ts';
import * as store from './store.ts';

export const FEEDBACK_SUSPECT = 'feedback_suspect';

export interface DoorObserverDeps {
  ledger: Ledger;
  health: DeviceHealth;
  clock: Clock;
  log: Logger;
  compartment(name: string): Compartment | undefined;
  boardComps(board: number): Compartment[];
  /** After every poll (the service runs its timers). */
  afterPoll(): void;
}

export class DoorObserver {
  private readonly suspectBoards = new Set<number>();

  constructor(private readonly d: DoorObserverDeps) {}

  /** True while a board's feedback is suspect: nothing there can be verified, so nothing is handed out. */
  isSuspect(board: number): boolean {
    return this.suspectBoards.has(board);
  }

  onBusEvent(e: LockBusEvent): void {
    if (e.type === 'reachability') {
      if (!e.reachable) for (const c of this.d.boardComps(e.board)) c.door = 'unknown';
      return;
    }
    if (e.source === 'poll' && this.feedbackSuspect(e.board, e.open)) return;
    for (const lock of e.changed) {
      const c = this.d.compartment(`${e.board}-${lock}`);
      if (c) this.doorSeen(c, e.open[lock - 1] ?? false);
    }
    if (e.source === 'poll') {
      const open = this.d.boardComps(e.board).filter((c) => c.door === 'open').map((c) => c.name);
      this.d.health.setDetail(boardDeviceId(e.board), { doorsOpen: open });
      this.d.afterPoll();
    }
  }

  private feedbackSuspect(board: number, open: boolean[]): boolean {
    const suspect = feedbackLooksWrong(this.d.boardComps(board), open, this.d.clock.monotonic());
    if (suspect && !this.suspectBoards.has(board)) {
      this.suspectBoards.add(board);
      this.d.log.error({ board }, 'every door of the board reads open: feedback inverted or broken');
      this.d.health.addFault(boardDeviceId(board), FEEDBACK_SUSPECT);
    } else if (!suspect && this.suspectBoards.has(board)) {
      this.suspectBoards.delete(board);
      this.d.health.clearFault(boardDeviceId(board), FEEDBACK_SUSPECT);
    }
    return suspect;
  }

  private doorSeen(c: Compartment, open: boolean): void {
    const was = c.door;
    c.door = open ? 'open' : 'closed';
    const mono = this.d.clock.monotonic();
    if (open) {
      if (was === 'open') return;
      c.doorOpenSinceMono ??= mono;
      if (!openExpected(c, mono) && !c.forced) {
        c.forced = true;
        this.d.log.error({ compartment: c.name, phase: c.phase }, 'door found open without an unlock');
        this.d.health.addFault(c.deviceId, `door_forced:${c.name}`);
      }
      return;
    }
    c.doorOpenSinceMono = undefined;
    c.leftOpenReported = false;
    if (c.forced) {
      c.forced = false;
      this.d.health.clearFault(c.deviceId, `door_forced:${c.name}`);
    }
    if (c.phase === 'depositing' && c.holding) {
      const h = c.holding;
      // The storage clock starts when the door is seen closed again (SPEC §6a).
      this.d.ledger.tx((t) => {
        store.startStorage(t.db, h.id, t.now);
        store.setPhase(t.db, c.name, 'held', t.now);
        h.storedTs = t.now;
      });
      h.storedMono = mono;
      c.phase = 'held';
    } else if (c.phase === 'retrieving') {
      this.d.ledger.tx((t) => store.setPhase(t.db, c.name, 'free', t.now));
      c.phase = 'free';
    }
  }
}
