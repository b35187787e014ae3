/** In-memory connections for the embedded broker (Broker.connectInMemory). */
import { Duplex } from 'node:stream';

/**
 * Two connected in-memory duplex streams, standing in for the two ends of a TCP connection
 * (Node 20 has no `stream.duplexPair`). What one end writes the other reads, with
 * backpressure: a write completes once the peer's buffer takes it. Ending one end is a FIN (the
 * peer reads what was sent, then its end); destroying one end is a reset seen as the same FIN,
 * so bytes written before it (a refusing CONNACK) still arrive. `allowHalfOpen: false` closes
 * each end once its peer has ended, like a default `net.Socket`.
 */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  /** The peer's write waiting for this end's reader to want more (backpressure). */
  private blocked: (() => void) | undefined;
  private eofPushed = false;

  constructor() {
    super({ allowHalfOpen: false });
  }

  /** Whether this end still reads what its peer writes. */
  private get open(): boolean {
    return !this.destroyed && !this.eofPushed;
  }

  /** The peer is done writing: this end reads what is buffered, then its 'end'. */
  private eof(): void {
    if (!this.open) return;
    this.eofPushed = true;
    this.push(null);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    // The peer is gone: like a write racing a reset, the bytes are lost; the writer learns of it
    // from its own end closing (its peer ended it), as a socket's owner does.
    if (!peer?.open) return cb();
    if (peer.push(chunk)) cb();
    else peer.blocked = cb;
  }

  /** Corked writes arrive as one chunk, as a socket sends them in one writev. */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), chunks[0]!.encoding, cb);
  }

  override _read(): void {
    const resume = this.blocked;
    this.blocked = undefined;
    resume?.();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.peer?.eof();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    peer?.eof();
    // Release a peer write still waiting for this end to read (the bytes are lost).
    this._read();
    cb(err);
  }
}
