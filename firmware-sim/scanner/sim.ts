/**
 * Simulated QR scanner (SPEC §7): writes codes as ASCII lines ended by CR, LF or CRLF, and on
 * demand the awkward things real scanners do — a line in pieces, an oversized line, a code
 * sent twice.
 */
import { parseFaultProfile, type FaultProfile } from '../faults.ts';
import type { ByteLink } from '../lockboard/link.ts';

export type Terminator = 'CR' | 'LF' | 'CRLF';

export const SCANNER_FAULTS = [
  'split', // the line arrives in several pieces, a few ms apart
  'repeat', // the code is sent twice (a double read)
  'oversized', // a junk line over 2048 bytes comes first
  'mixed_terminators', // each line gets a random terminator
] as const;
export type ScannerFault = (typeof SCANNER_FAULTS)[number];

const TERMINATOR_BYTES: Record<Terminator, string> = { CR: '\r', LF: '\n', CRLF: '\r\n' };

export interface ScannerSimOptions {
  terminator?: Terminator;
  /** `none`, `flaky@7`, `split,repeat` … (see firmware-sim/faults.ts). */
  faults?: string | FaultProfile<ScannerFault>;
  /** Gap between the pieces of a split line. Default 3 ms. */
  pieceGapMs?: number;
}

export class ScannerSim {
  private readonly terminator: Terminator;
  private readonly faults: FaultProfile<ScannerFault>;
  private readonly pieceGapMs: number;
  /** Codes scanned (each once, however it was sent). */
  scanned = 0;

  constructor(
    private readonly link: ByteLink,
    opts: ScannerSimOptions = {},
  ) {
    this.terminator = opts.terminator ?? 'CR';
    const f = opts.faults ?? 'none';
    this.faults = typeof f === 'string' ? parseFaultProfile<ScannerFault>(f, SCANNER_FAULTS) : f;
    this.pieceGapMs = opts.pieceGapMs ?? 3;
  }

  /** Scan one code: its line, with the faults of the profile (switches always on, or a random roll). */
  async scan(code: string, terminator: Terminator = this.terminator): Promise<void> {
    this.scanned++;
    const fault = this.faults.roll();
    const on = (f: ScannerFault) => this.faults.always.has(f) || fault === f;
    if (on('oversized')) await this.oversized();
    const term = on('mixed_terminators') ? (['CR', 'LF', 'CRLF'] as const)[Math.floor(this.faults.random() * 3)]! : terminator;
    const line = this.line(code, term);
    if (on('split')) await this.inPieces(line, 3);
    else this.link.write(line);
    if (on('repeat')) this.link.write(line);
  }

  /** The bytes of one code line. */
  line(code: string, terminator: Terminator = this.terminator): Buffer {
    return Buffer.from(code + TERMINATOR_BYTES[terminator], 'latin1');
  }

  /** Send a line in `pieces` writes, `pieceGapMs` apart (a partial line first). */
  async inPieces(bytes: Buffer, pieces: number): Promise<void> {
    const size = Math.max(1, Math.ceil(bytes.length / pieces));
    for (let i = 0; i < bytes.length; i += size) {
      if (i > 0) await new Promise((r) => setTimeout(r, this.pieceGapMs));
      this.link.write(bytes.subarray(i, i + size));
    }
  }

  /** A line longer than the 2048-byte limit (the reader must drop it with a warning). */
  async oversized(bytes = 3000, terminator: Terminator = this.terminator): Promise<void> {
    const junk = Buffer.alloc(bytes, 0x41);
    await this.inPieces(Buffer.concat([junk, Buffer.from(TERMINATOR_BYTES[terminator])]), 4);
  }

  /** Raw bytes, as they are. */
  raw(bytes: Buffer | string): void {
    this.link.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }
}
