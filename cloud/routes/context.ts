/** What every route module gets from buildApp. */
import type { FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.ts';
import type { AlertService } from '../alerts/alertService.ts';
import type { Auth } from '../auth.ts';
import type { CloudConfig } from '../config.ts';
import type { Ingestor } from '../ingest/ingestor.ts';
import type { CloudMetrics } from '../metrics.ts';
import type { RiderRegistry } from '../riders/riderRegistry.ts';
import type { StationRegistry } from '../stations/stationRegistry.ts';
import type { CloudStore } from '../store/store.ts';
import type { ZoneFeed } from '../zone/zoneFeed.ts';

export type CloudApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>;

export interface RouteContext {
  config: CloudConfig;
  store: CloudStore;
  clock: Clock;
  logger: Logger;
  auth: Auth;
  ingestor: Ingestor;
  riders: RiderRegistry;
  stations: StationRegistry;
  metrics: CloudMetrics;
  alerts: AlertService;
  zoneFeed: ZoneFeed;
}
