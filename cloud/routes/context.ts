/** What every route module gets from buildApp. */
import type { FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index';
import type { Auth } from '../auth';
import type { CloudConfig } from '../config';
import type { Ingestor } from '../ingest/ingestor';
import type { CloudMetrics } from '../metrics';
import type { RiderRegistry } from '../riders/riderRegistry';
import type { CloudStore } from '../store/store';

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
  metrics: CloudMetrics;
}
