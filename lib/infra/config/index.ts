import { z } from 'zod';
import { accessConfig, accessEnv, type AccessConfig } from './access';
import { apiConfig, apiEnv, type ApiConfig } from './api';
import { cbbConfig, cbbEnv, type CbbConfig } from './cbb';
import { coreConfig, coreEnv, type CoreConfig } from './core';
import { hmmConfig, hmmEnv, type HmmConfig } from './hmm';
import { outboundConfig, outboundEnv, type OutboundConfig } from './outbound';
import { rolloutConfig, rolloutEnv, type RolloutConfig } from './rollout';
import { ConfigError } from './shared';
import { vmConfig, vmEnv, type VmConfig } from './vm';
import { workerConfig, workerEnv, type WorkerConfig } from './worker';

/**
 * The one place that reads the environment. Everything else receives a Config.
 * Defaults point at the local stack that `npm run up` starts. Each process's settings
 * are declared in a file of their own here; this composes them.
 */

export { ConfigError } from './shared';
export { localLibvirtUri } from './vm';

export const envSchema = z.object({
  ...coreEnv.shape,
  ...apiEnv.shape,
  ...accessEnv.shape,
  ...workerEnv.shape,
  ...cbbEnv.shape,
  ...hmmEnv.shape,
  ...vmEnv.shape,
  ...rolloutEnv.shape,
  ...outboundEnv.shape,
});

export type Env = z.infer<typeof envSchema>;

export interface Config
  extends
    CoreConfig,
    ApiConfig,
    AccessConfig,
    WorkerConfig,
    CbbConfig,
    HmmConfig,
    VmConfig,
    RolloutConfig,
    OutboundConfig {}

/** Reads and validates the environment once; a bad value names the variable and what it expected. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      const got = env[name];
      const shown = got === undefined ? 'nothing' : isSecretName(name) ? '(hidden)' : JSON.stringify(got);
      return `  ${name}: expected ${describeIssue(i)}, got ${shown}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  // In this order, so that of two settings wrong together the same one is named first,
  // and the sections keep their order (core, api, access, worker, cbb, hmm, libvirt, vm, rollout, outbound).
  const processes = { ...apiConfig(e), ...accessConfig(e), ...workerConfig(e), ...cbbConfig(e), ...hmmConfig(e) };
  return { ...coreConfig(e), ...processes, ...vmConfig(e), ...rolloutConfig(e), ...outboundConfig(e) };
}

function isSecretName(name: string): boolean {
  return /KEY|TOKEN|PASSWORD|SECRET|DATABASE_URL|REDIS_URL/.test(name);
}

function describeIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'invalid_enum_value':
      return `one of ${issue.options.join(', ')}`;
    case 'too_small':
      return `at least ${issue.minimum}`;
    case 'too_big':
      return `at most ${issue.maximum}`;
    case 'invalid_type':
      return issue.expected === 'number' ? 'a number' : issue.expected;
    default:
      return issue.message.replace(/^Invalid /, 'a valid ');
  }
}
