import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { createMachineObservations } from './observe';
import { createMachineOperations } from './machine-operations';
import { runtimeVmMetrics, type VmMetrics } from './metrics';
import { createMachineRecords } from './records';
import { createRecordedOperation } from './recorded-operation';
import type { VmResources } from './resources';

export type { Survey, SurveyedMachine } from './observe';

/**
 * The VM process's activities: each one libvirt operation on one machine, its outcome
 * written to the machine's row and event log. Every one is safe to run twice, which is
 * what Temporal's retries need: the adapter's operations return at once when the domain
 * is already where they lead (see activities/vm/adapter.ts), the row's fields are set to
 * absolute values, and each event carries a key (workflow run, activity, attempt) that
 * a retried write cannot insert twice.
 *
 * Every activity heartbeats while it waits on libvirt, so a worker that dies mid-call is
 * noticed within the heartbeat timeout and the call retried elsewhere; a shutdown's wait
 * for the guest stops when the activity is cancelled (worker shutdown, workflow cancelled).
 *
 * They come in three parts, built here from one set of dependencies: the operations that
 * change a domain (./machine-operations), the reads of what libvirt reports (./observe)
 * and the records of what the workflows decided (./records).
 */

export interface VmActivityDeps {
  config: Pick<Config, 'libvirt' | 'vm'>;
  /** Postgres, for the machines' rows and events. */
  pool: Pool;
  log: Logger;
  vm: Pick<VmResources, 'adapter'>;
  metrics?: VmMetrics;
}

export function createVmActivities(deps: VmActivityDeps) {
  const { config, pool, log, metrics = runtimeVmMetrics } = deps;
  const adapter = deps.vm.adapter;
  const operation = createRecordedOperation({ pool, log, metrics, adapter });
  return {
    ...createMachineOperations({ config, pool, adapter, operation }),
    ...createMachineObservations({ pool, adapter }),
    ...createMachineRecords({ pool, log, metrics }),
  };
}

export type VmActivities = ReturnType<typeof createVmActivities>;
