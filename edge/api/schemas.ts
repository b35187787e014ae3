/**
 * Response schemas of the edge HTTP API (SPEC §8, contract): one TypeBox schema per answer
 * shape, declared on each route (`schema.response`), so what a route answers is written down
 * once and fastify serializes by it (STYLE.md §3). Shapes the protocol owns (`Compartment`,
 * `DeviceState`) come from protocol/. Deep, growing parts of the health body (device details,
 * sync progress) stay open objects: they are for people and the console, not a contract.
 * test/edge/response-schemas.test.ts fails when a SPEC §8 route has no schema for its 2xx.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Compartment, DeviceState } from '../../protocol/index.ts';

const ServiceDay = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Window = Type.Object({ from: ServiceDay, to: ServiceDay });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** An open object: listed keys typed, others kept as they are. */
const Open = <P extends Record<string, TSchema>>(props: P) => Type.Object(props, { additionalProperties: true });
const ClaimStatus = Type.Union(['reserved', 'dispensing', 'committed', 'released', 'unknown'].map((s) => Type.Literal(s)));

// ---- rider (kiosk) ------------------------------------------------------------------------------

export const CheckinOpened = Type.Object({ riderId: Type.String(), window: Window });
/** `station`: in zone scope, where the window was opened when it was another station of the zone (SPEC §13). */
export const CheckinAlready = Type.Object({ status: Type.Literal('already_checked_in'), riderId: Type.String(), window: Window, station: Type.Optional(Type.String()) });
export const ClaimCommitted = Type.Object({ claimId: Type.String(), status: Type.Literal('committed'), day: ServiceDay, compartment: Compartment });
/** The compartment and what is printed on its door (config `lockers.labels`). */
export const LockerOpened = Type.Object({ compartment: Type.String(), label: Type.String() });

export const RiderStatus = Type.Object({
  riderId: Type.String(),
  day: ServiceDay,
  window: Nullable(Window),
  claimedToday: Type.Boolean(),
  /** Zone scope (SPEC §13): the other station of the zone where today's bottle was taken, else null. */
  claimedAt: Nullable(Type.String()),
  windowDaysLeft: Type.Integer(),
  nextBottleDay: Nullable(ServiceDay),
  pendingClaim: Nullable(Type.Object({ claimId: Type.String(), since: Type.Number() })),
  lastWindowTo: Nullable(ServiceDay),
  locker: Nullable(
    Type.Object({ compartment: Type.String(), label: Type.String(), since: Nullable(Type.Number()), deadline: Nullable(Type.Number()) }),
  ),
});

// ---- maintenance --------------------------------------------------------------------------------

const LockerView = Type.Object({
  compartment: Type.String(),
  board: Type.Integer(),
  lock: Type.Integer(),
  bus: Type.String(),
  inService: Type.Boolean(),
  state: Type.String(),
  door: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('unknown')]),
  riderId: Nullable(Type.String()),
  heldSince: Nullable(Type.Number()),
  overdue: Type.Boolean(),
});

const DeviceView = Open({ id: Type.String(), kind: Type.String(), state: DeviceState, inService: Type.Boolean(), faults: Type.Array(Type.String()) });

export const StationHealth = Type.Object({
  station: Open({
    stationId: Type.String(),
    timezone: Type.String(),
    now: Type.Number(),
    day: ServiceDay,
    uptimeS: Type.Number(),
    diskFreeBytes: Nullable(Type.Number()),
    dbBytes: Type.Number(),
    sync: Type.Unknown(),
    clock: Type.Unknown(),
    trust: Type.Unknown(),
    faults: Type.Array(Type.String()),
  }),
  devices: Type.Array(DeviceView),
  dispensers: Type.Array(Type.Object({ dispenserId: Type.String(), usable: Type.Boolean(), stock: Type.Record(Type.String(), Type.Integer()) })),
  lockers: Type.Object({
    total: Type.Integer(),
    free: Type.Integer(),
    held: Type.Integer(),
    overdue: Type.Integer(),
    compartments: Type.Array(LockerView),
    recentUnlocks: Type.Array(
      Type.Object({
        compartment: Type.String(),
        purpose: Type.String(),
        by: Type.String(),
        startedTs: Type.Number(),
        outcome: Nullable(Type.String()),
        endedTs: Nullable(Type.Number()),
      }),
    ),
  }),
  claims: Type.Object({
    byStatus: Type.Record(Type.String(), Type.Integer()),
    awaitingResolution: Type.Array(
      Type.Object({
        claimId: Type.String(),
        riderId: Type.String(),
        day: ServiceDay,
        compartment: Compartment,
        dispenserId: Type.String(),
        reason: Nullable(Type.String()),
        since: Type.Number(),
      }),
    ),
  }),
});

export const Restocked = Type.Object({
  dispenserId: Type.String(),
  compartment: Compartment,
  count: Type.Integer(),
  mode: Type.Union([Type.Literal('add'), Type.Literal('set')]),
  setTo: Type.Optional(Type.Integer()),
  reported: Type.Optional(Type.Integer()),
  sponsor: Type.Optional(Type.String()),
  by: Type.String(),
  deviceTold: Type.Boolean(),
  /** `set` to the count the device already reports: nothing was sent. */
  unchanged: Type.Optional(Type.Literal(true)),
});

export const ForcedOpen = Type.Object({ compartment: Type.String(), opened: Type.Literal(true), by: Type.String() });

export const ServiceSet = Type.Object({ id: Type.String(), inService: Type.Boolean(), state: Type.String(), by: Type.String() });

export const ClaimResolved = Type.Object({ claimId: Type.String(), status: ClaimStatus, riderId: Type.String(), day: ServiceDay, by: Type.String() });

// ---- operations ---------------------------------------------------------------------------------

export const Liveness = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('failing')]), ledger: Type.String(), uptimeS: Type.Number() });
export const MetricsText = Type.String({ description: 'Prometheus text exposition format' });
