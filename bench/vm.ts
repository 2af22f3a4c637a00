import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createVmActivities } from '../activities/vm';
import { createVmAdapter, type VmAdapter } from '../activities/vm/adapter';
import { buildDomainXml } from '../activities/vm/domain-xml';
import { loadLibvirt } from '../activities/vm/libvirt';
import { createLibvirtPool, type LibvirtPool } from '../activities/vm/pool';
import { createVirsh } from '../activities/vm/virsh';
import { loadConfig } from '../lib/infra/config';
import { createPool } from '../lib/infra/db';
import { createLogger } from '../lib/infra/logger';
import { Semaphore } from '../lib/infra/semaphore';
import {
  operationUpdates,
  progress,
  vmStartOptions,
  vmWorkflowType,
  type VmLifecycleResult,
  type VmLifecycleWorkflow,
} from '../lib/vm/contract';
import { machineSpecSchema, type Template } from '../lib/vm/validate';
import { insertMachine } from '../store/vm/machines';
import { insertTemplate } from '../store/vm/templates';
import { appEnv, stackSettings } from '../scripts/stack/parts';
import { down, up } from '../scripts/stack/stack';
import { workflowInterceptorModules, workflowsPath } from '../workers/bundle';
import { activityInterceptors } from '../workers/interceptors';

/**
 * `npm run bench -- vm [machines=200] [concurrency=50]`: machines provisioned (defined
 * and started), shut down and deleted, on the stack's libvirtd (test driver), in an
 * isolated stack (test slot 7 unless TEST_STACK_SLOT says otherwise). Three runs of the
 * same four operations per machine, measured in the same run:
 *   1. through vmLifecycle workflows (Temporal, the activities, Postgres events);
 *   2. directly on the adapter over the connection pool;
 *   3. directly on the adapter with a new libvirt connection per call.
 * It prints operations per second, the two ratios (workflow against direct, pooled
 * against per call), the pool's wait times, and checks that every machine ended in the
 * state asked and that no domain is left.
 */

const template: Template = { vcpus: 1, memoryMiB: 128, os: { arch: 'x86_64' } };
const opsPerMachine = 4; // define, start, shutdown, delete

export default async function bench(args: string[]): Promise<void> {
  const machines = Number(args[0] ?? 200);
  const concurrency = Number(args[1] ?? 50);
  process.env.TEST_STACK_SLOT ??= '7';
  const s = stackSettings('test');
  const config = loadConfig({ ...process.env, ...appEnv(s), LOG_PRETTY: 'false', LOG_LEVEL: 'warn' });
  const say = (m: string) => console.log(`[bench vm] ${m}`);
  const uri = config.libvirt.uri;

  say(`starting an isolated stack in ${s.dataDir}`);
  await down(s);
  rmSync(s.dataDir, { recursive: true, force: true });
  await up(s, { only: ['postgres', 'temporal', 'libvirtd'], fresh: true });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const log = createLogger(config, 'bench-vm');
  const db = createPool(config, log, 'bench-vm');
  const waits: number[] = [];
  const pool = createLibvirtPool({ uri, ...config.libvirt.pool, observeWait: (ms) => waits.push(ms) });
  const virsh = createVirsh({ uri });
  const pooled = createVmAdapter({ pool, virsh });
  const leaked: string[] = [];
  try {
    const prefix = (run: string) => `b${run}`;
    const names = (run: string) => Array.from({ length: machines }, (_, i) => `${prefix(run)}-${i + 1}`);

    say(
      `direct, pooled (${config.libvirt.pool.min}-${config.libvirt.pool.max} connections): ${machines} machines, ${concurrency} at a time`,
    );
    const pooledMs = await direct(pooled, names('p'), concurrency);
    leaked.push(...(await leftovers(pooled, prefix('p'))));
    const poolWaits = summary(waits);
    const poolStats = pool.stats();

    say('direct, a connection per call');
    const perCall = createVmAdapter({ pool: perCallPool(uri), virsh });
    const perCallMs = await direct(perCall, names('c'), concurrency);
    leaked.push(...(await leftovers(pooled, prefix('c'))));

    say('through vmLifecycle workflows');
    const workflow = await throughWorkflows(names('w'), concurrency);
    leaked.push(...(await leftovers(pooled, prefix('w'))));

    const rate = (ms: number) => (machines * opsPerMachine) / (ms / 1000);
    const lines = [
      `machines: ${machines}, ${concurrency} at a time, ${opsPerMachine} operations each (define, start, shutdown, delete)`,
      `direct, pooled:          ${rate(pooledMs).toFixed(0).padStart(6)} ops/s  (${(pooledMs / 1000).toFixed(1)} s)`,
      `direct, per call:        ${rate(perCallMs).toFixed(0).padStart(6)} ops/s  (${(perCallMs / 1000).toFixed(1)} s)`,
      `through workflows:       ${rate(workflow.ms).toFixed(0).padStart(6)} ops/s  (${(workflow.ms / 1000).toFixed(1)} s)`,
      `pooled / per call:       ${(perCallMs / pooledMs).toFixed(2)}x  (target >= 3x)`,
      `workflows / direct:      ${(pooledMs / workflow.ms).toFixed(2)}x  (the cost of durability: history, events in Postgres)`,
      `pool waits (direct run): ${poolWaits}; ${poolStats.created} connections opened, ${poolStats.timeouts} timeouts`,
      `pool waits (workflows):  ${workflow.waits}`,
      `ended as asked:          ${workflow.asExpected}/${machines} workflows (ready running, shutoff after shutdown, deleted)`,
      `leaked domains:          ${leaked.length ? leaked.join(', ') : 'none'}`,
    ];
    console.log(`\n${lines.join('\n')}`);
    if (leaked.length || workflow.asExpected !== machines) process.exitCode = 1;
  } finally {
    await pool.drain();
    await db.end();
    await down(s);
  }

  /** The four operations per machine, straight on an adapter. */
  async function direct(adapter: VmAdapter, list: string[], n: number): Promise<number> {
    const gate = new Semaphore(n);
    const started = Date.now();
    await Promise.all(
      list.map((name) =>
        gate.use(async () => {
          await adapter.define(buildDomainXml({ name, uuid: randomUUID(), machineId: name, type: 'test', template }));
          expectState(name, await adapter.start(name), 'running');
          await adapter.shutdown(name, { timeoutMs: 30_000 });
          await adapter.undefine(name);
        }),
      ),
    );
    return Date.now() - started;
  }

  async function throughWorkflows(list: string[], n: number) {
    const bundle = await bundleWorkflowCode({
      workflowsPath,
      workflowInterceptorModules,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    });
    const native = await NativeConnection.connect({ address: config.temporal.address });
    const connection = await Connection.connect({ address: config.temporal.address });
    const client = new Client({ connection });
    const workerWaits: number[] = [];
    const workerPool = createLibvirtPool({ uri, ...config.libvirt.pool, observeWait: (ms) => workerWaits.push(ms) });
    const taskQueue = 'bench-vm';
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: { code: bundle.code },
      interceptors: { activity: [activityInterceptors] },
      activities: createVmActivities({
        config,
        pool: db,
        log,
        vm: { adapter: createVmAdapter({ pool: workerPool, virsh }) },
      }),
      maxConcurrentActivityTaskExecutions: 200,
    });
    const { name: templateName, ...t } = { name: 'bench-tiny', ...template };
    const tpl = (await insertTemplate(db, templateName, t))!;
    let asExpected = 0;
    let failed = 0;
    const gate = new Semaphore(n);
    const started = Date.now();
    try {
      await worker.runUntil(
        Promise.all(
          list.map((name) =>
            gate.use(async () => {
              try {
                const row = (await insertMachine(db, { name, templateId: tpl.id, runStrategy: 'Manual' }))!;
                const spec = machineSpecSchema.parse({ machineId: row.id, name, runStrategy: 'Manual', template });
                const handle = await client.workflow.start<VmLifecycleWorkflow>(vmWorkflowType, {
                  ...vmStartOptions({ spec, uuid: row.libvirtUuid }, tpl.name),
                  taskQueue,
                  workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
                });
                // Provisioned: the first update waits its turn behind define and start.
                const stopped = await handle.executeUpdate(operationUpdates.shutdown, {
                  args: [{ timeoutSeconds: 30 }],
                });
                const deleted = await handle.executeUpdate(operationUpdates.delete, { args: [{}] });
                const result: VmLifecycleResult = await handle.result();
                const p = await handle.query(progress).catch(() => undefined);
                const ok =
                  stopped.observed === 'shutoff' &&
                  deleted.observed === 'absent' &&
                  result.phase === 'deleted' &&
                  (p === undefined || p.operations === 2);
                if (ok) asExpected++;
                else
                  say(
                    `${name} ended otherwise: shutdown ${stopped.observed}, delete ${deleted.observed}, ${result.phase}`,
                  );
              } catch (err) {
                failed++;
                if (failed <= 5) say(`${name} failed: ${describeError(err)}`);
              }
            }),
          ),
        ),
      );
    } finally {
      await workerPool.drain();
      await connection.close();
      await native.close();
    }
    return { ms: Date.now() - started, waits: summary(workerWaits), asExpected };
  }

  function expectState(name: string, got: string, wanted: string): void {
    if (got !== wanted) throw new Error(`${name}: expected ${wanted}, libvirt reports ${got}`);
  }
}

/** A LibvirtPool that opens a new connection for every call and closes it after: the baseline. */
function perCallPool(uri: string): LibvirtPool {
  return {
    async use(fn) {
      const { Hypervisor } = await loadLibvirt();
      const conn = new Hypervisor({ uri });
      await conn.connectOpen();
      try {
        return await fn(conn);
      } finally {
        await conn.connectClose().catch(() => undefined);
      }
    },
    stats: () => {
      throw new Error('a connection per call keeps no statistics');
    },
    drain: async () => undefined,
  };
}

async function leftovers(adapter: VmAdapter, prefix: string): Promise<string[]> {
  return (await adapter.list()).map((d) => d.name).filter((n) => n.startsWith(`${prefix}-`));
}

function summary(waits: number[]): string {
  if (!waits.length) return 'none';
  const sorted = [...waits].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${sorted.length} borrows, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted[sorted.length - 1]} ms`;
}

function describeError(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return `${err instanceof Error ? err.message : String(err)}${cause?.message ? `: ${cause.message}` : ''}`;
}
