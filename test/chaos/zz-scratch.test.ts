import { it } from 'vitest';
import { sleep, startRig } from './rig';
it('scratch', async () => {
  const rig = await startRig({ boards: 2, locks: 12 });
  const b = rig.boards!;
  for (let i = 0; i < 6; i++) { await sleep(500); console.log('before', b.requestCount, rig.station.health.get('lockboard-1')!.state); }
  b.inject(2, 'offline');
  for (let i = 0; i < 10; i++) { await sleep(500); console.log('after', b.requestCount, rig.station.health.get('lockboard-1')!.state, rig.station.health.get('lockboard-2')!.state); }
  await rig.stop();
});
