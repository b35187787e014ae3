/**
 * What a lock bus's door reports mean, board by board (SPEC §6a): each changed door goes to its
 * compartment's machine as a `door` input (lockers/machine.ts decides storage, freeing and
 * forced doors); every door of a board reading open at once is one `feedback_suspect` fault on
 * the board instead (inverted or broken feedback), and nothing on it is handed out meanwhile.
 */
import type { Clock } from '../../../protocol/time.ts';
import { boardDeviceId } from '../../../protocol/index.ts';
import type { LockBusEvent } from '../device-ports.ts';
import type { Logger } from '../../log.ts';
import type { DeviceHealth } from '../health.ts';
import type { CompartmentInput } from './machine.ts';
import { feedbackLooksWrong, type Compartment } from './model.ts';

export const FEEDBACK_SUSPECT = 'feedback_suspect';

export interface DoorObserverDeps {
  health: DeviceHealth;
  clock: Clock;
  log: Logger;
  compartment(name: string): Compartment | undefined;
  boardComps(board: number): Compartment[];
  /** Feed an input to a compartment's machine (the service applies its effects). */
  step(c: Compartment, input: CompartmentInput): void;
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
      if (!e.reachable) for (const c of this.d.boardComps(e.board)) this.d.step(c, { type: 'board_lost' });
      return;
    }
    if (e.source === 'poll' && this.feedbackSuspect(e.board, e.open)) return;
    for (const lock of e.changed) {
      const c = this.d.compartment(`${e.board}-${lock}`);
      if (c) this.d.step(c, { type: 'door', open: e.open[lock - 1] ?? false });
    }
    if (e.source === 'poll') {
      const open = this.d.boardComps(e.board).filter((c) => c.s.door === 'open').map((c) => c.name);
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
}
