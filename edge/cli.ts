/**
 * `waystation-edge` / `npm run edge -- …` (SPEC §11):
 *
 *   waystation-edge --config <file>                   run the station until SIGINT/SIGTERM
 *   waystation-edge check --config <file>             validate the config and exit
 *   waystation-edge backup --config <file> --out <f>  online SQLite backup, with progress
 *   waystation-edge verify --config <file>            check the stored event hash chain
 *   waystation-edge token-hash <token>                the SHA-256 to put in maintenanceTokens
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config, 3 chain broken.
 * Messages for people go to stderr; the daemon's logs are pino JSON on stdout.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256Hex, systemClock } from '../protocol/index.ts';
import { ConfigError, loadConfig, type StationConfig } from './config.ts';
import { Ledger, LedgerUnavailableError } from './ledger/ledger.ts';
import { createLogger } from './log.ts';
import { dbPathOf, startStation, StationStartError } from './station.ts';

const USAGE = `usage:
  waystation-edge --config <file>
  waystation-edge check --config <file>
  waystation-edge backup --config <file> --out <file>
  waystation-edge verify --config <file>
  waystation-edge token-hash <token>`;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

class UsageError extends Error {}

function configFrom(values: { config?: string | undefined }): StationConfig {
  if (!values.config) throw new UsageError('--config <file> is required');
  return loadConfig(values.config);
}

function openExisting(config: StationConfig, readonly: boolean): Ledger {
  const path = dbPathOf(config);
  if (!existsSync(path)) throw new UsageError(`no station database at ${path} (has this station run yet?)`);
  return Ledger.open({ path, clock: systemClock, timezone: config.timezone, readonly });
}

async function run(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const [command = 'run', ...rest] = positionals;

  switch (command) {
    case 'token-hash': {
      const token = rest[0];
      if (!token) throw new UsageError('token-hash needs the token: waystation-edge token-hash <token>');
      process.stdout.write(`${sha256Hex(token)}\n`);
      return 0;
    }
    case 'check': {
      const config = configFrom(values);
      say(`config ok: station ${config.stationId}, data in ${config.dataDir}`);
      return 0;
    }
    case 'backup': {
      const config = configFrom(values);
      if (!values.out) throw new UsageError('backup needs --out <file>');
      const out = resolve(values.out);
      if (existsSync(out)) throw new UsageError(`${out} exists; choose a new file for the backup`);
      // Read-write handle: the SQLite backup API reads a consistent snapshot while the station runs.
      const ledger = openExisting(config, false);
      try {
        let last = -1;
        await ledger.backup(out, (remaining, total) => {
          const pct = total === 0 ? 100 : Math.floor(((total - remaining) / total) * 100);
          if (pct !== last) {
            last = pct;
            process.stderr.write(`\rbackup ${pct}% (${total - remaining}/${total} pages)`);
          }
        });
        // SQLite reports progress before each step, so the last one is ours to print.
        process.stderr.write(`\rbackup 100%${' '.repeat(24)}\n`);
        const head = ledger.head();
        say(`backup written to ${out} (head seq ${head.seq})`);
        return 0;
      } finally {
        ledger.close();
      }
    }
    case 'verify': {
      const config = configFrom(values);
      const ledger = openExisting(config, true);
      try {
        const r = ledger.verifyStoredChain();
        if (r.ok) {
          say(`chain ok: ${r.events} events checked, head seq ${r.headSeq}`);
          return 0;
        }
        say(`chain BROKEN at seq ${r.seq}: ${r.reason}`);
        return 3;
      } finally {
        ledger.close();
      }
    }
    case 'run': {
      const config = configFrom(values);
      const logger = createLogger({ level: config.logLevel });
      const station = await startStation(config, { logger });
      say(`station ${config.stationId} running: kiosk ${station.httpUrl}/  mqtt port ${station.mqttPort}`);
      await new Promise<void>((done) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            say(`${signal} again: exiting now`);
            process.exit(1);
          }
          stopping = true;
          say(`${signal}: stopping (in-flight claims finish or become unknown)…`);
          station.stop().then(done, (e: unknown) => {
            logger.error({ err: e }, 'stop failed');
            done();
          });
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      say('station stopped');
      // Everything is closed; do not let a stray handle keep a supervisor waiting.
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      say(`waystation-edge: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (e instanceof ConfigError) {
      say(e.message);
      process.exitCode = 2;
    } else if (e instanceof StationStartError || e instanceof LedgerUnavailableError) {
      say(`waystation-edge: cannot start: ${e.message}`);
      process.exitCode = 1;
    } else if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      say(`waystation-edge: ${(e as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      say(`waystation-edge: ${(e as Error).stack ?? String(e)}`);
      process.exitCode = 1;
    }
  },
);
