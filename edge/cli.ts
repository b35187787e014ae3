/**
 * `waystation-edge` / `npm run edge -- …` (SPEC §11):
 *
 *   waystation-edge --config <file>                   run the station until SIGINT/SIGTERM
 *   waystation-edge check --config <file> [--strict]  validate the config, warn (SPEC §16); --strict refuses warnings
 *   waystation-edge probe --path <serial> [--baud 9600] [--profile 8a80] [--timeout-ms 300]
 *                                                     list the lock boards that answer (SPEC §16)
 *   waystation-edge doctor --config <file>            one line per installation check (SPEC §16)
 *   waystation-edge backup --config <file> --out <f>  online SQLite backup, with progress
 *   waystation-edge verify --config <file>            check the stored event hash chain
 *   waystation-edge token-hash < token                the SHA-256 to put in maintenanceTokens (token on stdin)
 *
 * Exit codes: 0 ok, 1 runtime failure (doctor: a check failed; probe: no board answered),
 * 2 bad usage or config (check --strict: a warning; probe: the port cannot be opened), 3 chain broken.
 * Messages for people go to stderr; the daemon's logs are pino JSON on stdout.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isLockBoardProfileName, LOCK_BOARD_PROFILE_NAMES, lockBoardProfile, sha256Hex, systemClock } from '../protocol/index.ts';
import { ConfigError, loadConfig, type StationConfig } from './config.ts';
import { Ledger, LedgerUnavailableError } from './ledger/ledger.ts';
import { createLogger } from './log.ts';
import { dbPathOf, startStation, StationStartError } from './station.ts';
import { checkWarnings, refusedByStrict } from './tools/check.ts';
import { formatDoctorLine, runDoctor } from './tools/doctor.ts';
import { describeBoard, probeBus } from './tools/probe.ts';

const USAGE = `usage:
  waystation-edge --config <file>
  waystation-edge check --config <file> [--strict]
  waystation-edge probe --path <serial> [--baud 9600] [--profile ${LOCK_BOARD_PROFILE_NAMES.join('|')}] [--timeout-ms 300]
  waystation-edge doctor --config <file>
  waystation-edge backup --config <file> --out <file>
  waystation-edge verify --config <file>
  printf %s "$TOKEN" | waystation-edge token-hash`;

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
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
      strict: { type: 'boolean' },
      path: { type: 'string' },
      baud: { type: 'string' },
      profile: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const [command = 'run', ...rest] = positionals;

  switch (command) {
    case 'token-hash': {
      // On stdin, not argv: a token on the command line stays in shell history and `ps`.
      if (rest.length > 0) throw new UsageError('token-hash reads the token from standard input, not the command line: printf %s "$TOKEN" | waystation-edge token-hash');
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const token = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (!token) throw new UsageError('token-hash got no token on standard input: printf %s "$TOKEN" | waystation-edge token-hash');
      process.stdout.write(`${sha256Hex(token)}\n`);
      return 0;
    }
    case 'check': {
      const config = configFrom(values);
      say(`config ok: station ${config.stationId}, data in ${config.dataDir}`);
      const warnings = checkWarnings(config, resolve(values.config!));
      for (const w of warnings) say(`warning [${w.code}]: ${w.message}`);
      const refused = warnings.filter(refusedByStrict).length;
      if (refused > 0 && values.strict) {
        say(`refused (--strict): ${refused} warning${refused === 1 ? '' : 's'} above; fix them and run check again`);
        return 2;
      }
      return 0;
    }
    case 'probe': {
      if (!values.path) throw new UsageError('probe needs --path <serial>, e.g. --path /dev/serial/by-id/usb-…');
      const baudRate = values.baud ? Number(values.baud) : 9600;
      const timeoutMs = values['timeout-ms'] ? Number(values['timeout-ms']) : 300;
      if (!Number.isInteger(baudRate) || baudRate < 1200 || baudRate > 921_600) throw new UsageError('--baud must be a baud rate 1200–921600');
      if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 10_000) throw new UsageError('--timeout-ms must be 10–10000');
      const name = values.profile ?? '8a80';
      if (!isLockBoardProfileName(name)) throw new UsageError(`--profile must be one of ${LOCK_BOARD_PROFILE_NAMES.join(', ')}`);
      const profile = lockBoardProfile(name);
      say(`asking addresses ${Math.max(1, profile.minAddress)}–${Math.min(31, profile.maxAddress)} on ${values.path} (${profile.name}, ${baudRate} baud, ${timeoutMs} ms each)…`);
      const r = await probeBus({ path: values.path, baudRate, profile, timeoutMs });
      if (!r.ok) {
        say(`cannot open ${values.path}: ${r.reason}. ${r.hint}`);
        return 2;
      }
      for (const b of r.boards) process.stdout.write(`${describeBoard(b, profile.locksPerBoard)}\n`);
      if (r.boards.length === 0) {
        say(`no board answered on ${values.path}: check the boards' power, the RS-485 A/B wires (swap them if unsure), the baud rate and --profile`);
        return 1;
      }
      say(`${r.boards.length} board${r.boards.length === 1 ? '' : 's'} answered: addresses ${r.boards.map((b) => b.address).join(', ')}`);
      return 0;
    }
    case 'doctor': {
      let config: StationConfig;
      try {
        config = configFrom(values);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stdout.write(`${formatDoctorLine({ check: 'config', status: 'fail', detail: e.message })}\n`);
        say('the config must be valid before the other checks can run');
        return 1;
      }
      const lines = await runDoctor(config);
      for (const l of lines) process.stdout.write(`${formatDoctorLine(l)}\n`);
      const failed = lines.filter((l) => l.status === 'fail').length;
      say(failed === 0 ? 'all checks passed' : `${failed} check${failed === 1 ? '' : 's'} failed: see the FAIL lines above`);
      return failed === 0 ? 0 : 1;
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
      for (const w of checkWarnings(config, resolve(values.config!))) logger.warn({ code: w.code }, w.message);
      const station = await startStation(config, { logger, onStartupSummary: (s) => say(`start-up: ${s.text}`) });
      say(`station ${config.stationId} running: kiosk ${station.httpUrl}/  console ${station.maintenanceUrl ?? station.httpUrl}/maintenance  mqtt port ${station.mqttPort}`);
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
