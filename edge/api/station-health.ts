/**
 * The body of `GET /v1/health` (SPEC §6b, §8): every device, the lockers, the dispensers'
 * stock, and the station itself — uptime, disk free, database size, sync backlog, clock
 * faults, and claims by status including `unknown` ones awaiting a report or maintenance.
 */
import type { Static } from '@sinclair/typebox';
import type { StationHealth } from './schemas.ts';
import { statfsSync } from 'node:fs';
import { DEVICE_STATES } from '../../protocol/index.ts';
import type { AppDeps } from './context.ts';

/** Free bytes for the station's data directory (what an unprivileged writer can use). */
export function diskFreeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/**
 * The cloud's device list for this station (config pull) against the devices this station
 * drives: listed there but not here (`missingHere`), driven here but not listed
 * (`notListed`), or the same id with another kind. Null when the cloud lists no devices.
 */
export function deviceListDiff(
  cloud: readonly { id: string; kind: string }[] | undefined,
  local: readonly { id: string; kind: string }[],
): { missingHere: string[]; notListed: string[]; kindDiffers: string[] } | null {
  if (!cloud || cloud.length === 0) return null;
  const here = new Map(local.map((x) => [x.id, x.kind]));
  const there = new Map(cloud.map((x) => [x.id, x.kind]));
  return {
    missingHere: [...there.keys()].filter((id) => !here.has(id)).sort(),
    notListed: [...here.keys()].filter((id) => !there.has(id)).sort(),
    kindDiffers: [...there].filter(([id, kind]) => here.has(id) && here.get(id) !== kind).map(([id]) => id).sort(),
  };
}

export function stationHealth(d: AppDeps): Static<typeof StationHealth> {
  const now = d.clock.now();
  const devices = d.health.all();
  const deviceList = deviceListDiff(d.trust.cloudConfig()?.devices, devices);
  const lockers = d.lockers.compartments();
  const unknownClaims = d.quota.claimsWithStatus('unknown');
  const jumps = d.probe.clockJumps();
  const faults: string[] = [];
  if (d.probe.clockFault()) faults.push('clock_jump');
  if (deviceList && deviceList.missingHere.length + deviceList.notListed.length + deviceList.kindDiffers.length > 0) faults.push('device_list_mismatch');
  const free = diskFreeBytes(d.config.dataDir);
  return {
    station: {
      stationId: d.config.stationId,
      timezone: d.config.timezone,
      now,
      day: d.ledger.serviceDay(now),
      uptimeS: Math.round((d.clock.monotonic() - d.probe.startedMono) / 1000),
      diskFreeBytes: free,
      dbBytes: d.ledger.sizeBytes(),
      sync: {
        configured: d.config.cloud !== undefined,
        headSeq: d.ledger.head().seq,
        ackedSeq: d.ledger.ackedSeq(),
        backlog: d.ledger.backlog(),
        ...(d.probe.sync() ?? {}),
        // The cloud's device list for this station against what this station drives.
        deviceList,
      },
      clock: { jumps, fault: d.probe.clockFault() },
      trust: d.trust.counts(),
      faults,
    },
    devices,
    dispensers: d.claims.availability(),
    lockers: {
      total: lockers.length,
      free: lockers.filter((l) => l.state === 'free' && l.inService).length,
      held: lockers.filter((l) => l.riderId !== null).length,
      overdue: lockers.filter((l) => l.overdue).length,
      compartments: lockers,
      // Every unlock is journalled before it is sent (docs/lockers.md, How lockers behave).
      recentUnlocks: d.lockers.unlockJournal(20).map((u) => ({
        compartment: u.compartment,
        purpose: u.purpose,
        by: u.actor,
        startedTs: u.started_ts,
        outcome: u.outcome,
        endedTs: u.ended_ts,
      })),
    },
    claims: {
      byStatus: d.quota.countByStatus(),
      // The quota stays held for these until a late report or a maintenance decision (SPEC §3).
      awaitingResolution: unknownClaims.slice(0, 200).map((c) => ({
        claimId: c.id,
        riderId: c.riderId,
        day: c.day,
        compartment: c.compartment,
        dispenserId: c.dispenserId,
        reason: c.reason,
        since: c.updatedTs,
      })),
    },
  };
}

/** A compact device summary for the `station.heartbeat` event. */
export function devicesSummary(d: Pick<AppDeps, 'health'>): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0]));
  for (const v of d.health.all()) out[v.state] = (out[v.state] ?? 0) + 1;
  return out;
}
