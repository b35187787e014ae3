export { Uploader, type UploaderOptions, type UploaderStatus } from './uploader.ts';
export { ConfigPuller, CONFIG_META_KEY, CONFIG_ETAG_META_KEY, type ConfigPullerOptions, type ConfigPullerStatus } from './configPuller.ts';
export { backoffDelayMs } from './backoff.ts';
export type { SyncLedger, CloudLink, SyncError } from './syncLedger.ts';
export { ZoneFeedClient, type ZoneFeedOptions, type ZoneFeedStatus, type ZoneSetting, type ZoneFeedStore } from './zoneFeed.ts';
