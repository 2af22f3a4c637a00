export * from './batch-migration';
export * from './cbb-sweep';
export * from './cbb-sync';
export * from './self-check';
