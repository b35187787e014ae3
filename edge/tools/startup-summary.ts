/**
 * The start-up summary (issue 13, docs/maintenance.md): a few seconds after start, one line
 * saying which devices answered and which did not, with where to look — so an installer reads
 * one line instead of scrolling JSON.
 */
import type { DeviceHealthView } from '../core/health.ts';

export interface StartupSummary {
  answered: string[];
  silent: string[];
  outOfService: string[];
  text: string;
}

export function startupSummary(devices: readonly DeviceHealthView[]): StartupSummary {
  const answered = devices.filter((d) => d.inService && (d.state === 'online' || d.state === 'degraded')).map((d) => d.id);
  const silent = devices.filter((d) => d.inService && d.state === 'offline').map((d) => d.id);
  const outOfService = devices.filter((d) => !d.inService).map((d) => d.id);
  const parts = [`${answered.length} of ${devices.length} devices answered${answered.length ? ` (${answered.join(', ')})` : ''}`];
  if (silent.length) parts.push(`not answering: ${silent.join(', ')} — check their power and cables; \`waystation-edge doctor --config <file>\` checks each`);
  if (outOfService.length) parts.push(`out of service: ${outOfService.join(', ')}`);
  return { answered, silent, outOfService, text: parts.join('; ') };
}
