#!/usr/bin/env node
/**
 * The idle-CPU baseline of bench/edge-start.bench.ts: a bare node process that does only the
 * serial traffic of a station at rest — every poll interval, a query-all to each board in turn
 * (the same frames, from the compiled codec in dist/) and a wait for its reply — with the same
 * serialport package and the same V8 flags as the daemon, and nothing else (no HTTP, no broker,
 * no ledger, no timers of its own). What the daemon uses above this is the daemon's own.
 *
 *   node <bin's flags> bench/serial-poll-baseline.js <tty path> <poll ms> <board address>…
 *
 * Plain JavaScript on purpose (no TypeScript loader, as the compiled daemon). On SIGTERM it
 * prints `replies <n>` so the bench can check the exchanges really happened.
 */
import { SerialPort } from 'serialport';
import { encodeRequest, replyLengthFor } from '../dist/protocol/lockboard/index.js';

const [path, pollMs, ...boards] = process.argv.slice(2);
if (!path || !pollMs || boards.length === 0) {
  process.stderr.write('usage: serial-poll-baseline.js <tty path> <poll ms> <board address>…\n');
  process.exit(2);
}
const REPLY_TIMEOUT_MS = 1000;
const want = replyLengthFor('queryAll');
const frames = boards.map((b) => encodeRequest({ kind: 'queryAll', board: Number(b) }));

const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
await new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));

let got = 0;
let replies = 0;
let answered;
port.on('data', (chunk) => {
  got += chunk.length;
  if (got >= want) answered?.();
});

async function poll() {
  for (const frame of frames) {
    got = 0;
    let timer;
    const done = new Promise((resolve) => {
      answered = () => {
        replies++;
        resolve();
      };
      timer = setTimeout(resolve, REPLY_TIMEOUT_MS);
    });
    port.write(frame);
    await done;
    clearTimeout(timer);
    answered = undefined;
  }
}

setInterval(() => void poll(), Number(pollMs));
process.on('SIGTERM', () => {
  process.stdout.write(`replies ${replies}\n`);
  port.close(() => process.exit(0));
});
process.stderr.write('polling\n');
