/**
 * `GET /v1/alerts?state=firing|resolved|all` (admin or maintenance, SPEC §15, §17): alerts newest first, with their
 * fingerprint, severity, state, since and until. Acknowledging stays `POST /v1/alerts/{id}/ack`.
 */
import { Type } from '@sinclair/typebox';
import type { CloudApp, RouteContext } from '../routes/context.ts';

export function alertRoutes(app: CloudApp, ctx: RouteContext): void {
  app.get(
    '/v1/alerts',
    {
      schema: {
        querystring: Type.Object(
          {
            state: Type.Union([Type.Literal('firing'), Type.Literal('resolved'), Type.Literal('all')], { default: 'firing' }),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      // SPEC §17: maintenance sees fleet health and alerts (admin sees everything).
      ctx.auth.requireRole(req, 'maintenance');
      const alerts = await ctx.store.listAlerts(req.query.state, req.query.limit);
      return { state: req.query.state, generatedAt: ctx.clock.now(), alerts };
    },
  );
}
