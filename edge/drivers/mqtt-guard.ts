/**
 * What one MQTT connection may make the broker buffer (issue 11): aedes' parser keeps every
 * byte of a packet until the packet is complete, so a client that declares a 250 MB CONNECT and
 * trickles it in holds 250 MB. The guard reads only the fixed headers (MQTT 3.1.1 §2.2: one
 * byte of type and flags, then the remaining length in 1–4 bytes of 7 bits each) as the bytes
 * stream past, and says "refuse" as soon as a declared size is over the limit — before the body
 * arrives:
 * - until the connection is accepted (CONNACK 0), `preConnectMaxBytes` in all (a CONNECT with
 *   its will and password is a few hundred bytes);
 * - after that, `maxPacketBytes` per packet (nothing in SPEC §5 comes near 64 KiB).
 * Pure: bytes in, a verdict out; the broker closes the socket.
 */

export interface BrokerLimits {
  /** Open connections at once (sockets and in-memory); more are closed at once. */
  maxConnections: number;
  /** Bytes a client may send before its CONNECT is accepted. */
  preConnectMaxBytes: number;
  /** Largest packet after that (SPEC §5 payloads are far smaller). */
  maxPacketBytes: number;
  /** A client that has not completed CONNECT by then is closed. */
  connectTimeoutMs: number;
  /** Takeovers of one client id within a minute that count as a fight (two devices, one id). */
  takeoversPerMinute: number;
  /** How long the newcomer of a fight is refused at first; doubles while the fight goes on (≤ 10 min). */
  fightBackoffMs: number;
}

/** The defaults of the config's `mqtt` limits (edge/config.ts takes them as its defaults). */
export const BROKER_LIMITS: BrokerLimits = {
  maxConnections: 64,
  preConnectMaxBytes: 8_192,
  maxPacketBytes: 65_536,
  connectTimeoutMs: 5_000,
  takeoversPerMinute: 3,
  fightBackoffMs: 30_000,
};

export type MqttGuardLimits = Pick<BrokerLimits, 'preConnectMaxBytes' | 'maxPacketBytes'>;

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

const OK: GuardVerdict = { ok: true };

export class MqttFrameGuard {
  private accepted = false;
  /** Bytes seen before the connection was accepted. */
  private preConnectBytes = 0;
  // Fixed-header state: 0 = expecting the type byte, 1 = in the remaining length, 2 = in a body.
  private state: 0 | 1 | 2 = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly limits: MqttGuardLimits) {}

  /** The CONNECT was accepted: from now on only each packet's size is bounded. */
  accept(): void {
    this.accepted = true;
  }

  feed(chunk: Uint8Array): GuardVerdict {
    if (!this.accepted) {
      this.preConnectBytes += chunk.length;
      if (this.preConnectBytes > this.limits.preConnectMaxBytes) {
        return { ok: false, reason: `more than ${this.limits.preConnectMaxBytes} bytes before the connection was accepted` };
      }
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 2) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        if (this.bodyLeft === 0) this.state = 0;
        continue;
      }
      const b = chunk[i++]!;
      if (this.state === 0) {
        this.state = 1;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // Remaining length (§2.2.3): low 7 bits are the value, the high bit says "more".
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (b & 0x80) {
        if (this.lengthBytes === 4) return { ok: false, reason: 'malformed remaining length (more than 4 bytes)' };
        continue;
      }
      const limit = this.accepted ? this.limits.maxPacketBytes : this.limits.preConnectMaxBytes;
      if (this.length > limit) return { ok: false, reason: `a packet of ${this.length} bytes (the limit is ${limit})` };
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 0 : 2;
    }
    return OK;
  }
}
