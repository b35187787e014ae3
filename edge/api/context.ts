/**
 * What every edge route module gets from `buildApp` (SPEC §8): the app's type, the station's
 * parts as ports, per-request state and the maintenance audit. Route modules import this file,
 * never app.ts, so edge/api/ has no import cycle (test/architecture.test.ts).
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock, EventDataOf } from '../../protocol/index.ts';
import type { StationConfig } from '../config.ts';
import type { DeviceHealth } from '../core/health.ts';
import type { AuditRecord, ClaimPort, LockerPort } from '../core/ports.ts';
import type { KioskHub } from '../kiosk/hub.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { QuotaLedger } from '../ledger/quota-ledger.ts';
import type { Logger } from '../log.ts';
import type { StationMetrics } from '../metrics.ts';
import type { FixedWindowLimiter } from './limiter.ts';
import type { TrustStore } from './trust.ts';

/** The app as route modules see it: TypeBox types flow from each route's schema. */
export type TypedApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ClockJumpView {
  ts: number;
  deltaMs: number;
}

/** What the health route shows about the station beyond its parts (jobs, sync). */
export interface StationProbe {
  /** Monotonic ms at start. */
  startedMono: number;
  clockJumps(): ClockJumpView[];
  /** True while a recent clock jump is an open fault (SPEC §6c). */
  clockFault(): boolean;
  sync(): Record<string, unknown> | null;
}

export interface AppDeps {
  config: StationConfig;
  clock: Clock;
  logger: Logger;
  ledger: Ledger;
  quota: QuotaLedger;
  health: DeviceHealth;
  claims: ClaimPort;
  /** `setCompartmentService` lets maintenance take one compartment out of service (optional). */
  lockers: LockerPort & { setCompartmentService?(compartment: string, inService: boolean, by: string): boolean };
  trust: TrustStore;
  metrics: StationMetrics;
  kiosk: KioskHub;
  probe: StationProbe;
}

/** Per-request state kept beside the request, not on it (no global type augmentation). */
export interface RequestState {
  startedMono: number;
  operator: string | null;
  audited: boolean;
}

/** The details a route adds to its audit (which device, compartment or claim). */
export type AuditDetail = Partial<Omit<EventDataOf<'maintenance.audit'>, 'by' | 'method' | 'route' | 'path' | 'outcome'>>;

export interface AppContext extends AppDeps {
  state(req: FastifyRequest): RequestState;
  credentialLimiter: FixedWindowLimiter;
  /** Write a maintenance audit event for a call that ended in an error, unless already done. */
  auditFailure(req: FastifyRequest, code: string): void;
  /** This call's audit as a value, for a service to write inside its own transaction. */
  auditRecord(req: FastifyRequest, outcome: string, detail?: AuditDetail): AuditRecord;
  /** Run `change` and write this call's audit in one ledger transaction; no audit when `change` returns undefined (nothing changed). */
  audited<T>(req: FastifyRequest, outcome: string, detail: AuditDetail, change: () => T): T;
}
