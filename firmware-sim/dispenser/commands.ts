/**
 * The dispenser's side of the `cmd/*` topics (SPEC §5), as pure functions: which command a
 * message is (validated by the protocol schemas), and the `evt/dispense` that answers for a vend
 * the device remembers. The simulator shell acts on them.
 */
import {
  decodePayload,
  parseTopic,
  type DispenseCommand,
  type DispenseEvent,
  type QueryCommand,
  type RestockCommand,
} from '../../protocol/index.ts';
import type { VendRecord } from './memory.ts';

type CommandName = 'dispense' | 'query' | 'restock';

export type DeviceCommand =
  | { ok: true; name: 'dispense'; value: DispenseCommand }
  | { ok: true; name: 'query'; value: QueryCommand }
  | { ok: true; name: 'restock'; value: RestockCommand }
  /** Failed validation; `id` only for a dispense with a usable one (it is refused: `bad_request`). */
  | { ok: false; name: CommandName; error: string; id?: string };

/** The command in a message for `deviceId`, or undefined for another topic or device. */
export function parseCommand(deviceId: string, topic: string, payload: Buffer): DeviceCommand | undefined {
  const parsed = parseTopic(topic);
  if (!parsed || parsed.deviceId !== deviceId) return undefined;
  switch (parsed.name) {
    case 'dispense': {
      const d = decodePayload('dispense', payload);
      if (d.ok) return { ok: true, name: 'dispense', value: d.value };
      const id = idOf(payload);
      return id ? { ok: false, name: 'dispense', error: d.error, id } : { ok: false, name: 'dispense', error: d.error };
    }
    case 'query': {
      const d = decodePayload('query', payload);
      return d.ok ? { ok: true, name: 'query', value: d.value } : { ok: false, name: 'query', error: d.error };
    }
    case 'restock': {
      const d = decodePayload('restock', payload);
      return d.ok ? { ok: true, name: 'restock', value: d.value } : { ok: false, name: 'restock', error: d.error };
    }
    default:
      return undefined;
  }
}

/** The event that answers for a remembered vend: when it ends, again for a repeat, and to a query. */
export function outcomeOf(r: VendRecord): Omit<DispenseEvent, 'id'> {
  switch (r.state) {
    case 'dispensing':
      return { result: 'accepted' };
    case 'dropped':
      return { result: 'dropped' };
    case 'indeterminate':
      return { result: 'indeterminate' };
    case 'failed':
    case 'rejected':
      return r.reason ? { result: r.state, reason: r.reason } : { result: r.state };
  }
}

/** The `id` of a command that failed validation, when there is a usable one. */
function idOf(payload: Buffer): string | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64 ? v.id : undefined;
  } catch {
    return undefined;
  }
}
