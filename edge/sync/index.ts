export { Uploader, type UploaderOptions, type UploaderStatus } from './uploader';
export { ConfigPuller, CONFIG_META_KEY, CONFIG_ETAG_META_KEY, type ConfigPullerOptions, type ConfigPullerStatus } from './configPuller';
export { backoffDelayMs } from './backoff';
export type { SyncLedger, CloudLink, SyncError } from './syncLedger';
