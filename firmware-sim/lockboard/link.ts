/**
 * The device end of a serial line, for simulators that must run over any duplex byte stream:
 * in-process over `@serialport/binding-mock` (fast tests) or over a real serial path such as
 * one end of a `socat` pty pair (CLI, end-to-end tests).
 */
import { SerialPort, SerialPortMock } from 'serialport';

/**
 * The slice of a serialport binding used here. Declared locally: the `@serialport/*` packages
 * publish `exports` without a `types` condition, so their declarations do not resolve here.
 */
export interface SerialBinding {
  list(): Promise<unknown[]>;
  open(options: { path: string; baudRate: number }): Promise<unknown>;
}

interface MockPort {
  readonly isOpen: boolean;
  emitData(data: Buffer): void;
  write(buffer: Buffer): Promise<void>;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
}

interface MockBindingApi {
  createPort(path: string, opts?: { echo?: boolean; record?: boolean }): void;
  list(): Promise<unknown[]>;
  open(options: { path: string; baudRate: number }): Promise<MockPort>;
}

/** `@serialport/binding-mock`'s MockBinding, as serialport re-exports it. */
const MockBinding = SerialPortMock.binding as MockBindingApi;

/** What a simulated device sees of its serial line. */
export interface ByteLink {
  /** Send bytes to the host (dropped when nobody has the line open, as on a real wire). */
  write(bytes: Uint8Array): void;
  /** Bytes the host wrote. Returns the unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
}

/** An in-process serial line: the host opens `path` with `binding`; the simulator uses `device`. */
export interface MockLine {
  readonly path: string;
  /** Pass to the driver (`new LockBus({ binding })`, `new ScannerReader({ binding })`). */
  readonly binding: SerialBinding;
  readonly device: ByteLink;
  /** True while the host has the port open. */
  readonly hostOpen: boolean;
  /** Pull the adapter out: the host's read fails (a disconnect) and opening fails until `replug()`. */
  unplug(): void;
  replug(): void;
}

let lineCounter = 0;

/**
 * Make a mock serial line. Uses `MockBinding.createPort`, wraps the port the host opens so
 * every host write reaches the simulator, and feeds simulator bytes in with `port.emitData`.
 */
export function createMockLine(path = `/dev/mock-line-${process.pid}-${++lineCounter}`): MockLine {
  MockBinding.createPort(path, { echo: false, record: false });
  const listeners = new Set<(chunk: Buffer) => void>();
  const failReads = new Set<(err: Error) => void>();
  let current: MockPort | undefined;
  let unplugged = false;

  const binding: SerialBinding = {
    list: () => MockBinding.list(),
    async open(options) {
      if (unplugged) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      const port = await MockBinding.open(options);
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        await write(buffer);
        const copy = Buffer.from(buffer);
        for (const l of listeners) l(copy);
      };
      const read = port.read.bind(port);
      port.read = (buffer: Buffer, offset: number, length: number) =>
        new Promise<{ buffer: Buffer; bytesRead: number }>((resolve, reject) => {
          if (unplugged) return reject(new Error('device unplugged'));
          failReads.add(reject);
          read(buffer, offset, length)
            .then(resolve, reject)
            .finally(() => failReads.delete(reject));
        });
      current = port;
      return port;
    },
  };

  const device: ByteLink = {
    write(bytes) {
      if (current?.isOpen && !unplugged) current.emitData(Buffer.from(bytes));
    },
    onData(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  return {
    path,
    binding,
    device,
    get hostOpen() {
      return !!current?.isOpen;
    },
    unplug() {
      unplugged = true;
      // A read error that is not `canceled` is how a binding reports a disconnect: fail the
      // pending read, or the next one if none is pending right now.
      for (const fail of [...failReads]) fail(new Error('device unplugged'));
      failReads.clear();
    },
    replug() {
      unplugged = false;
    },
  };
}

/** The device end over a real serial path (a pty of socat, a USB adapter). */
export interface SerialLink extends ByteLink {
  close(): Promise<void>;
}

export async function openSerialLink(path: string, baudRate = 9600): Promise<SerialLink> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const listeners = new Set<(chunk: Buffer) => void>();
  port.on('data', (chunk: Buffer) => {
    for (const l of listeners) l(chunk);
  });
  port.on('error', () => undefined); // a write to a closed pty; the simulator keeps going
  return {
    write(bytes) {
      if (port.isOpen) port.write(Buffer.from(bytes));
    },
    onData(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
