/**
 * One pino root for the edge daemon (STYLE.md §7): children per module, secrets redacted.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'credential',
  '*.credential',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'body.credential',
];

export function createLogger(opts: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...opts,
  };
  return destination ? pino(base, destination) : pino(base);
}

/** A logger that writes nothing (tests that do not care about logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
