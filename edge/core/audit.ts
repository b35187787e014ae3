/** Writing a maintenance call's audit inside a service's own transaction (SPEC §8; edge/core/ports.ts `AuditRecord`). */
import type { LedgerTx } from '../ledger/ledger.ts';
import type { AuditRecord } from './ports.ts';

export function writeAudit(t: LedgerTx, audit: AuditRecord | undefined): void {
  if (!audit) return;
  t.append('maintenance.audit', audit.data);
  audit.written();
}
