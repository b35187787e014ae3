/**
 * `waystation-edge probe` (SPEC §16): ask every board address on a bus for its doors
 * (query-all, SPEC §6) and list the boards that answer, so an installer can find the DIP
 * addresses before writing the config. One address at a time (the bus is half duplex), each
 * given `timeoutMs` to answer; a missing board is silence.
 */
import { FrameParser, decodeReply, encodeRequest, type BoardProfile } from '../../protocol/lockboard/index.ts';
import type { BindingInterface } from '../drivers/lockbus/open-port.ts';
import { openSerialPort } from '../drivers/lockbus/open-port.ts';
import { serialOpenHint } from '../drivers/reopening-port.ts';

export interface ProbeOptions {
  path: string;
  baudRate: number;
  profile: BoardProfile;
  timeoutMs: number;
  /** Only these addresses (doctor asks the configured boards); default every address 1–31 the profile allows. */
  addresses?: number[];
  binding?: BindingInterface;
}

export interface ProbedBoard {
  address: number;
  /** Index 0 = lock 1. */
  closed: boolean[];
}

export type ProbeResult = { ok: true; boards: ProbedBoard[] } | { ok: false; error: 'port_open_failed'; reason: string; hint: string };

export async function probeBus(o: ProbeOptions): Promise<ProbeResult> {
  let port: Awaited<ReturnType<typeof openSerialPort>>;
  try {
    port = await openSerialPort({ path: o.path, baudRate: o.baudRate, binding: o.binding });
  } catch (e) {
    return { ok: false, error: 'port_open_failed', ...serialOpenHint(o.path, e) };
  }
  const parser = FrameParser.forReplies(o.profile);
  parser.expect('queryAll');
  let waiting: { address: number; done: (b: ProbedBoard | undefined) => void } | undefined;
  port.on('data', (chunk: Buffer) => {
    for (const frame of parser.push(chunk).frames) {
      const r = decodeReply(frame, 'queryAll', o.profile);
      if (r?.kind === 'queryAll' && waiting && r.board === waiting.address) waiting.done({ address: r.board, closed: r.closed });
    }
  });
  const from = Math.max(1, o.profile.minAddress);
  const to = Math.min(31, o.profile.maxAddress);
  const addresses = o.addresses ?? Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const boards: ProbedBoard[] = [];
  try {
    for (const address of addresses) {
      // Register the waiter before writing (a fast board may answer at once).
      const answer = new Promise<ProbedBoard | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), o.timeoutMs);
        waiting = {
          address,
          done: (b) => {
            clearTimeout(timer);
            resolve(b);
          },
        };
      });
      port.write(encodeRequest({ kind: 'queryAll', board: address }, o.profile));
      const b = await answer;
      waiting = undefined;
      if (b) boards.push(b);
    }
  } finally {
    await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
  }
  return { ok: true, boards };
}

/** `board 5: 24 locks, all closed` / `board 7: 16 locks, open 3, 12`. */
export function describeBoard(b: ProbedBoard, locks = b.closed.length): string {
  const open = b.closed.slice(0, locks).flatMap((c, i) => (c ? [] : [i + 1]));
  const doors = open.length === 0 ? 'all closed' : open.length === locks ? 'all open' : `open ${open.join(', ')}, the rest closed`;
  return `board ${b.address}: ${locks} locks, ${doors}`;
}
