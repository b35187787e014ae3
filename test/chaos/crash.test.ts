/**
 * Crash (issue 6, SPEC §3 rule 4 "a bottle is never dispensed twice for one claim, and no
 * dropped bottle is ever without its committed claim, across crashes and restarts"): the edge
 * daemon runs as a child process (`node --import tsx edge/cli.ts --config <file>`) with its lock
 * bus on a socat pseudo-terminal (the lock-board simulator holds the other end, in this process,
 * and keeps it across restarts) and the dispenser simulator in this process on the daemon's MQTT
 * port (its vend memory and dropped count live on across daemon restarts). Riders claim and use
 * lockers over HTTP without pause while the daemon is killed with SIGKILL at random moments and
 * started again.
 *
 * After each kill the ledger file (opened read-only) has an unbroken hash chain and is
 * consistent: SQLite's integrity check, no rider with two claims on a day, every committed
 * claim with its event and exactly one bottle, no bottle without a claim on disk, and
 * committed ≤ bottles ≤ committed + claims in flight or unknown (`checkLedger`). At the end,
 * once the restarted daemon has queried the dispenser about every unknown claim (those whose
 * command died with the daemon, never received by the device, wait for maintenance by SPEC §3
 * rule 4; the test resolves them through the maintenance API as released): the bottles
 * the dispenser dropped equal the claims in status `committed` (each exactly one bottle, none
 * for a released one), and no rider holds two quota-holding claims on one day.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryStore } from '../../firmware-sim/dispenser/memory.ts';
import { DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { openSerialLink, type SerialLink } from '../../firmware-sim/lockboard/link.ts';
import { hasSocat, openPtyPair, type PtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim.ts';
import { generateSigningKey, issueCredential, systemClock } from '../../protocol/index.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { tempDir } from '../helpers/tmp.ts';
import { freePort, MAINTENANCE_TOKEN, rng, sha256, sleep, waitFor } from './rig.ts';
import { scaled, summary } from './scale.ts';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'edge/cli.ts');
const DISP_PASSWORD = 'crash-disp-secret';

const tmp = tempDir('waystation-crash-');
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  tmp.cleanup();
});

interface Daemon {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

function startDaemon(configFile: string): Promise<Daemon> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--config', configFile], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`daemon did not start within 30 s: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /kiosk (http:\/\/[^/\s]+)\//.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]!, exited });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      reject(new Error(`daemon exited (${code ?? signal}) before it ran: ${err}`));
    });
  });
}

/** An answer; 'down' when the daemon was not there (connection refused); 'cut' when the kill cut the request. */
async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> } | 'down' | 'cut'> {
  try {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch (e) {
    // The rider tries again later either way.
    return (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? 'down' : 'cut';
  }
}

describe('crash: kill -9 of the edge daemon', () => {
  it('keeps the ledger consistent and every bottle accounted for across random SIGKILLs', async () => {
    expect(hasSocat(), 'socat is needed for the lock bus pseudo-terminal (apt-get install socat)').toBe(true);
    const kills = scaled(100, 8);
    const riders = scaled(1500, 150);
    const seed = 20261129;
    const r = rng(seed);

    // Devices that outlive the daemon: the lock board on a pty, the dispenser with its flash.
    const pty: PtyPair = await openPtyPair();
    cleanups.push(() => pty.close());
    const link: SerialLink = await openSerialLink(pty.device);
    cleanups.push(() => link.close());
    const boards = new LockBoardSim({ boards: [{ address: 1, locks: 24 }], latencyMs: 20, closeAfterMs: 300 });
    boards.attach(link);
    cleanups.push(() => boards.stop());

    const key = await generateSigningKey('crash-key-1');
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const configFile = join(tmp.dir, 'station.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        stationId: 'dn-crash',
        timezone: 'Asia/Shanghai',
        dataDir: './data',
        http: { host: '127.0.0.1', port: httpPort },
        mqtt: { host: '127.0.0.1', port: mqttPort },
        credentials: { jwks: { keys: [key.publicJwk] }, revokedRiders: [] },
        maintenanceTokens: [{ name: 'ops-crash', sha256: sha256(MAINTENANCE_TOKEN) }],
        dispensers: [{ id: 'disp-1', password: DISP_PASSWORD }],
        lockBuses: [{ path: pty.host, baudRate: 9600, boards: [{ address: 1, locks: 24 }] }],
        heartbeatIntervalMs: 2000,
        dispense: { timeoutMs: 2000 },
        lockers: { pollIntervalMs: 200, riderCooldownMs: 0 },
        unknownClaimRetryMs: 1000,
        rateLimit: { perCredentialPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
        shutdownDrainMs: 0,
        logLevel: 'warn',
      }),
    );
    const dbPath = join(tmp.dir, 'data', 'station.db');

    let daemon = await startDaemon(configFile);
    cleanups.push(() => daemon.child.kill('SIGKILL'));
    const disp = new DispenserSimulator({
      url: `mqtt://127.0.0.1:${mqttPort}`,
      id: 'disp-1',
      password: DISP_PASSWORD,
      memory: new InMemoryStore(),
      stock: 100_000,
      motorMs: 250, // long enough for a kill to land mid-vend
      telemetryIntervalMs: 1000,
      reconnectPeriodMs: 100,
    });
    await disp.start();
    cleanups.push(() => disp.stop());

    const creds = await Promise.all(Array.from({ length: riders }, (_, i) => issueCredential(key, { riderId: `rider-crash-${i}`, issuedAtMs: systemClock.now(), ttlSeconds: 86_400 })));
    const tally: Record<string, number> = {};
    const bump = (k: string) => void (tally[k] = (tally[k] ?? 0) + 1);
    const committedAnswers = new Set<string>();
    let running = true;
    let next = 0;

    const worker = async () => {
      while (running) {
        const i = next++ % riders;
        const credential = creds[i]!;
        const base = daemon.url;
        const c = await post(base, '/v1/checkins', { credential });
        if (c === 'down' || c === 'cut') {
          bump(c === 'down' ? 'down' : 'checkin:cut_by_kill');
          await sleep(50);
          continue;
        }
        const k = await post(base, '/v1/claims', { credential, compartment: r() < 0.5 ? 'hot' : 'cold' });
        if (k === 'down' || k === 'cut') bump(k === 'down' ? 'down' : 'claim:cut_by_kill');
        else {
          bump(k.status === 201 ? 'claim:committed' : `claim:${String(k.body.error)}`);
          if (k.status === 201) committedAnswers.add(String(k.body.claimId));
        }
      }
    };
    // Two locker kiosks, each cycling deposit → retrieve for its own six riders (the claim
    // kiosks above leave the lockers alone, so compartments free up again). The last
    // answer a rider got says what the ledger must hold for them (a request the kill cut says
    // nothing: it may or may not have committed, and the rider's next answer tells).
    const lockerRiders = Array.from({ length: 12 }, (_, i) => `locker-crash-${i}`);
    const lockerCreds = await Promise.all(lockerRiders.map((riderId) => issueCredential(key, { riderId, issuedAtMs: systemClock.now(), ttlSeconds: 86_400 })));
    const expectHeld = new Map<string, string | null | undefined>(); // compartment, none, or unknown
    const lockerWorker = async (first: number) => {
      for (let n = 0; running; n++) {
        const i = first + (n % 6);
        const riderId = lockerRiders[i]!;
        const expected = expectHeld.get(riderId);
        const retrieve = expected !== undefined && expected !== null ? true : expected === null ? false : r() < 0.5;
        const l = await post(daemon.url, retrieve ? '/v1/lockers/retrieve' : '/v1/lockers/deposit', { credential: lockerCreds[i]! });
        if (l === 'down' || l === 'cut') {
          bump(l === 'down' ? 'down' : 'locker:cut_by_kill');
          expectHeld.set(riderId, undefined);
          await sleep(50);
          continue;
        }
        bump(`locker:${l.status}`);
        if (l.status === 201 || (l.status === 409 && l.body.error === 'locker_already_held')) expectHeld.set(riderId, String(l.body.compartment));
        // A deposit refused for want of a free compartment: the rider holds none (a holder gets 409 first).
        else if (l.status === 200 || l.body.error === 'no_locker_held' || l.body.error === 'no_free_compartment') expectHeld.set(riderId, null);
        else expectHeld.set(riderId, undefined);
        await sleep(100 + Math.floor(r() * 200));
      }
    };
    const workers = [worker(), worker(), worker(), worker(), lockerWorker(0), lockerWorker(6)];

    /** The ledger file as the daemon left it, read-only: an unbroken chain. */
    const checkChain = (): number => {
      const ledger = Ledger.open({ path: dbPath, clock: systemClock, timezone: 'Asia/Shanghai', readonly: true });
      try {
        const v = ledger.verifyStoredChain();
        if (!v.ok) throw new Error(`chain broken at seq ${v.seq}: ${v.reason}`);
        return v.headSeq;
      } finally {
        ledger.close();
      }
    };

    /**
     * The ledger file as the kill left it (the daemon is dead; the dispenser may still be
     * finishing a vend it was sent): SQLite's own integrity check; no rider with two
     * quota-holding claims on a day; every committed claim has its claim.committed event and
     * exactly one bottle; no bottle for a released claim; no bottle without a claim on disk;
     * committed ≤ bottles ≤ committed + claims still in flight or unknown.
     */
    const ledgerProblems: string[] = [];
    const checkLedger = (kill: number): void => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        const problem = (what: string) => ledgerProblems.push(`after kill ${kill + 1}: ${what}`);
        const integrity = db.pragma('integrity_check', { simple: true });
        if (integrity !== 'ok') problem(`integrity_check ${String(integrity)}`);
        const doubles = db
          .prepare("SELECT rider_id, day FROM claims WHERE status IN ('committed','unknown','reserved','dispensing') GROUP BY rider_id, day HAVING COUNT(*) > 1")
          .all() as Array<{ rider_id: string; day: string }>;
        for (const d of doubles) problem(`two claims for ${d.rider_id} on ${d.day}`);
        const claims = db.prepare('SELECT id, status FROM claims').all() as Array<{ id: string; status: string }>;
        const ids = new Set(claims.map((c) => c.id));
        for (const [id, n] of disp.dropped) if (n > 0 && !ids.has(id)) problem(`a bottle for ${id}, which the ledger has no claim for`);
        const byStatus: Record<string, number> = {};
        for (const c of claims) {
          byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
          if (c.status === 'committed' && disp.droppedFor(c.id) !== 1) problem(`committed ${c.id} with ${disp.droppedFor(c.id)} bottles`);
          if (c.status === 'released' && disp.droppedFor(c.id) !== 0) problem(`released ${c.id} with a bottle`);
        }
        const withoutEvent = db
          .prepare(
            "SELECT id FROM claims WHERE status = 'committed' AND id NOT IN (SELECT json_extract(data, '$.claimId') FROM events WHERE type = 'claim.committed')",
          )
          .all() as Array<{ id: string }>;
        for (const c of withoutEvent) problem(`committed ${c.id} without its claim.committed event`);
        const committedN = byStatus.committed ?? 0;
        const open = (byStatus.unknown ?? 0) + (byStatus.dispensing ?? 0) + (byStatus.reserved ?? 0);
        if (disp.droppedTotal < committedN || disp.droppedTotal > committedN + open)
          problem(`bottles ${disp.droppedTotal} outside committed ${committedN} … committed + open ${committedN + open}`);
      } finally {
        db.close();
      }
    };

    let chainChecks = 0;
    let lastHead = 0;
    let restartMsTotal = 0;
    for (let k = 0; k < kills; k++) {
      await sleep(300 + Math.floor(r() * 1700));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      const head = checkChain();
      checkLedger(k);
      chainChecks++;
      expect(head).toBeGreaterThanOrEqual(lastHead);
      lastHead = head;
      const t0 = performance.now();
      daemon = await startDaemon(configFile);
      restartMsTotal += performance.now() - t0;
    }

    // Stop the load, then let the daemon resolve what the kills left unknown (it queries the
    // dispenser when the dispenser is back and every unknownClaimRetryMs).
    // Every locker rider gets one answer from the last daemon, so each has a state to check.
    for (const id of lockerRiders) if (expectHeld.get(id) !== undefined) expectHeld.set(id, undefined);
    await waitFor(() => lockerRiders.every((id) => expectHeld.get(id) !== undefined), 30_000, 'an answer for every locker rider after the last restart');
    running = false;
    await Promise.all(workers);
    const statusCounts = () => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        return Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM claims GROUP BY status').all() as Array<{ status: string; n: number }>).map((x) => [x.status, x.n]));
      } finally {
        db.close();
      }
    };
    const isIndeterminate = (id: string) => disp.record(id)?.state === 'indeterminate';
    // A claim whose command died with the daemon (written, never delivered) is one the device never
    // saw: its query answer is `unknown`, and SPEC §3 rule 4 keeps the quota held until maintenance.
    const neverReceived = (id: string) => disp.record(id) === undefined;
    const openClaims = () => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare("SELECT id FROM claims WHERE status IN ('unknown','reserved','dispensing')").all() as Array<{ id: string }>;
      } finally {
        db.close();
      }
    };
    // Every claim the device knows an outcome for must be settled by the daemon's queries.
    await waitFor(() => openClaims().every((c) => isIndeterminate(c.id) || neverReceived(c.id)), 60_000, 'unknown claims resolved by the restarted daemon');
    const leftForMaintenance = openClaims();
    const neverReceivedCount = leftForMaintenance.filter((c) => neverReceived(c.id)).length;
    // Maintenance decides those (SPEC §8): no bottle came out, so the quota goes back.
    for (const c of leftForMaintenance) {
      expect(disp.droppedFor(c.id)).toBe(0);
      const res = await fetch(`${daemon.url}/v1/maintenance/claims/${c.id}/resolve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${MAINTENANCE_TOKEN}` },
        body: JSON.stringify({ outcome: 'released' }),
      });
      expect(res.status, await res.text()).toBe(200);
    }

    // The final reckoning, from the daemon's own ledger file and the dispenser's own count.
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    const verify = spawnSync(process.execPath, ['--import', 'tsx', cli, 'verify', '--config', configFile], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(verify.status, verify.stderr).toBe(0);
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const claims = db.prepare('SELECT id, rider_id, day, status, reason FROM claims').all() as Array<{ id: string; rider_id: string; day: string; status: string; reason: string | null }>;
    const doubles = db
      .prepare("SELECT rider_id, day, COUNT(*) AS n FROM claims WHERE status IN ('committed','unknown','reserved','dispensing') GROUP BY rider_id, day HAVING n > 1")
      .all();
    const holdings = new Map(
      (db.prepare("SELECT rider_id, compartment FROM locker_holdings WHERE status <> 'ended'").all() as Array<{ rider_id: string; compartment: string }>).map((h) => [h.rider_id, h.compartment]),
    );
    const lockerMismatches = [...expectHeld]
      .filter(([riderId, want]) => want !== undefined && (holdings.get(riderId) ?? null) !== want)
      .map(([riderId, want]) => `${riderId}: answered ${want ?? 'none'}, ledger ${holdings.get(riderId) ?? 'none'}`);
    const lockerRidersKnown = [...expectHeld.values()].filter((v) => v !== undefined).length;
    const resolvedEvents = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'claim.resolved'").get() as { n: number }).n;
    const unknownEvents = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'claim.unknown'").get() as { n: number }).n;
    db.close();
    const committed = claims.filter((c) => c.status === 'committed');
    const released = claims.filter((c) => c.status === 'released');
    const stillUnknown = claims.filter((c) => c.status === 'unknown');
    const committedWrong = committed.filter((c) => disp.droppedFor(c.id) !== 1).map((c) => c.id);
    const releasedWrong = released.filter((c) => disp.droppedFor(c.id) !== 0).map((c) => c.id);
    const answeredButNotCommitted = [...committedAnswers].filter((id) => !committed.some((c) => c.id === id));
    const counts = statusCounts();

    summary('crash', {
      kills,
      riders,
      chainChecks,
      ledgerProblems: ledgerProblems.length,
      eventsAtEnd: lastHead,
      claims: claims.length,
      committed: committed.length,
      released: released.length,
      unknownNeverReceived: neverReceivedCount,
      releasedByMaintenance: leftForMaintenance.length,
      unknownLeft: stillUnknown.length,
      unknownWritten: unknownEvents,
      resolvedAfterRestart: resolvedEvents,
      bottlesDropped: disp.droppedTotal,
      motorRuns: disp.motorRuns,
      requestsCutByKill: (tally['checkin:cut_by_kill'] ?? 0) + (tally['claim:cut_by_kill'] ?? 0) + (tally['locker:cut_by_kill'] ?? 0),
      lockerOps: (tally['locker:201'] ?? 0) + (tally['locker:200'] ?? 0),
      lockerRidersChecked: lockerRidersKnown,
      lockerMismatches: lockerMismatches.length,
      doubleClaims: doubles.length,
      avgRestartMs: Math.round(restartMsTotal / kills),
      seed: String(seed),
    });
    process.stdout.write(`  claims by status ${JSON.stringify(counts)}; answers ${JSON.stringify(tally)}\n`);
    expect(ledgerProblems).toEqual([]);
    expect(doubles).toEqual([]);
    expect(lockerMismatches).toEqual([]);
    expect(committedWrong).toEqual([]);
    expect(releasedWrong).toEqual([]);
    expect(answeredButNotCommitted).toEqual([]);
    expect(stillUnknown).toEqual([]);
    expect(disp.droppedTotal).toBe(committed.length);
    expect(committed.length).toBeGreaterThan(kills);
  });
});
