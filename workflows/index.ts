/** Every workflow type, as the tests register them: the two workers' sets together (a unit test holds this). */
export * from './orchestrator-worker';
export * from './hmm-worker';
