export * from './profile.ts';
export * from './codec.ts';
export * from './parser.ts';
export * from './device-id.ts';
