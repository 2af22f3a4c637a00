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
import { libvirtdPaths } from '../scripts/stack/libvirtd';
import { down, up } from '../scripts/stack/stack';
import { workflowInterceptorModules, workflowsPath } from '../workers/bundle';
import { activityInterceptors } from '../workers/interceptors';
import { libvirtdClients, settle } from './support/libvirtd-clients';
import { formatSpread, pairedRounds, type PairedResult } from './support/rounds';

/**
 * `npm run bench -- vm [rounds=15] [seconds=1.5] [concurrency=50] [machines=30]`, on the
 * stack's libvirtd (test driver) in an isolated stack (test slot 7 unless TEST_STACK_SLOT
 * says otherwise). Each machine is defined, started, shut down and deleted (4 operations).
 *   1. Pooled against a connection per call, directly on the adapter: paired rounds
 *      (ABBA), each arm `seconds` long with `concurrency` machines in flight, after a
 *      warm-up of both (the binding loaded, the pool at its size, the code compiled).
 *   2. Through vmLifecycle workflows against directly on the pooled adapter: 5 paired
 *      rounds of `machines` workflows against `seconds` of direct calls (a round of
 *      workflows lasts seconds at least: each machine is a workflow, three updates and
 *      a history, so a shorter round would measure its tail).
 * It prints each ratio as the median of its rounds ± half their range, the pool's waits,
 * and checks that every workflow ended in the state asked and that no domain is left.
 *
 * Between rounds libvirtd is let go back to its idle clients: a closed connection of the
 * binding stays open on libvirtd until the garbage collector frees its Domains, so a
 * round of a connection per call leaves about five open connections per machine (1,300
 * after 6 s), which slowed whichever round came next, the pooled one as often as not.
 */

const template: Template = { vcpus: 1, memoryMiB: 128, os: { arch: 'x86_64' } };
const opsPerMachine = 4; // define, start, shutdown, delete
/** Every machine the benchmark makes is named b<arm><round>-<n>, and only those are checked for leaks. */
const benchDomain = /^b[pcw]\d+-\d+$/;

export default async function bench(args: string[]): Promise<void> {
  const [rounds = 15, seconds = 1.5, concurrency = 50, machines = 30] = args.map(Number);
  for (const [what, v] of Object.entries({ rounds, seconds, concurrency, machines }))
    if (!(v > 0)) throw new Error(`${what} must be a positive number, got ${v}`);
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
  const perCall = createVmAdapter({ pool: perCallPool(uri), virsh });
  const clients = libvirtdClients(libvirtdPaths(s).adminSocket);
  let idleCount = 0;
  try {
    say(`warm-up: 1 s of each direct arm`);
    await forSeconds(pooled, 'bp0', 1, concurrency);
    const idle = await clients();
    idleCount = idle;
    await forSeconds(perCall, 'bc0', 1, concurrency);
    const lingering = await clients();
    await settle(clients, idle);
    waits.length = 0;
    say(`libvirtd clients: ${idle} idle, ${lingering} after 1 s of a connection per call, back to ${await clients()}`);

    const { created } = pool.stats();
    say(
      `pooled (${config.libvirt.pool.min}-${config.libvirt.pool.max} connections) against a connection per call: ` +
        `${rounds} rounds of ${seconds} s each, ${concurrency} machines in flight`,
    );
    const direct = await pairedRounds({
      rounds,
      baseline: (r) => settled(forSeconds(perCall, `bc${r + 1}`, seconds, concurrency)),
      subject: (r) => settled(forSeconds(pooled, `bp${r + 1}`, seconds, concurrency)),
      onRound: (r, b, p) => say(`round ${r + 1}: per call ${fmt(b)} ops/s, pooled ${fmt(p)} ops/s, ${ratio(p / b)}`),
    });
    const poolWaits = summary(waits);
    const poolStats = pool.stats();

    const workflows = await throughWorkflows();
    const leaked = (await pooled.list()).map((d) => d.name).filter((n) => benchDomain.test(n));

    const lines = [
      `machines defined, started, shut down and deleted (${opsPerMachine} operations each), ${concurrency} in flight`,
      `direct, pooled:          ${ops(direct.subject)}`,
      `direct, per call:        ${ops(direct.baseline)}`,
      `pooled / per call:       ${formatSpread(direct.ratio)}  (target >= 3)`,
      `through workflows:       ${ops(workflows.paired.subject)}  (${machines} workflows a round)`,
      `direct, pooled, beside:  ${ops(workflows.paired.baseline)}`,
      `workflows / direct:      ${formatSpread(workflows.paired.ratio, 3)}  (the cost of durability: history, events in Postgres)`,
      `pool waits (direct):     ${poolWaits}; ${poolStats.created - created} connections opened in the rounds, ${poolStats.timeouts} timeouts`,
      `pool waits (workflows):  ${workflows.waits}`,
      `ended as asked:          ${workflows.asExpected}/${workflows.started} workflows (ready running, shutoff after shutdown, deleted)`,
      `leaked domains:          ${leaked.length ? leaked.join(', ') : 'none'}`,
    ];
    console.log(`\n${lines.join('\n')}`);
    if (leaked.length || workflows.asExpected !== workflows.started) process.exitCode = 1;
  } finally {
    await pool.drain();
    await db.end();
    await down(s);
  }

  /** The arm's figure, once libvirtd holds its idle clients only again (the wait is not measured). */
  async function settled(arm: Promise<number>): Promise<number> {
    const figure = await arm;
    await settle(clients, idleCount);
    return figure;
  }

  /**
   * Machines through the adapter for `secs` seconds, `n` at a time; then the ones in flight
   * finish. Returns operations per second over the whole, tail included.
   */
  async function forSeconds(adapter: VmAdapter, prefix: string, secs: number, n: number): Promise<number> {
    const started = performance.now();
    const deadline = started + secs * 1000;
    let next = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (performance.now() < deadline) {
          await cycle(adapter, `${prefix}-${++next}`);
          done++;
        }
      }),
    );
    return (done * opsPerMachine) / ((performance.now() - started) / 1000);
  }

  async function cycle(adapter: VmAdapter, name: string): Promise<void> {
    await adapter.define(buildDomainXml({ name, uuid: randomUUID(), machineId: name, type: 'test', template }));
    const state = await adapter.start(name);
    if (state !== 'running') throw new Error(`${name}: expected running, libvirt reports ${state}`);
    await adapter.shutdown(name, { timeoutMs: 30_000 });
    await adapter.undefine(name);
  }

  async function throughWorkflows() {
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
    const counts = { started: 0, asExpected: 0, failed: 0 };
    let paired!: PairedResult;
    const workflowRounds = 5;
    say(
      `through workflows against direct: ${workflowRounds} rounds of ${machines} workflows against ${seconds} s direct`,
    );
    try {
      await worker.runUntil(async () => {
        // One machine through a workflow first: the worker's first tasks compile the bundle.
        await viaWorkflows(['bw0-1'], 1);
        paired = await pairedRounds({
          rounds: workflowRounds,
          baseline: (r) => forSeconds(pooled, `bp${rounds + r + 1}`, seconds, concurrency),
          subject: (r) =>
            viaWorkflows(
              Array.from({ length: machines }, (_, i) => `bw${r + 1}-${i + 1}`),
              concurrency,
            ),
          onRound: (r, d, w) => say(`round ${r + 1}: direct ${fmt(d)} ops/s, workflows ${fmt(w)} ops/s`),
        });
      });
    } finally {
      await workerPool.drain();
      await connection.close();
      await native.close();
    }
    return { paired, waits: summary(workerWaits), ...counts };

    /** Each machine provisioned, shut down and deleted through its workflow; operations per second. */
    async function viaWorkflows(list: string[], n: number): Promise<number> {
      const gate = new Semaphore(n);
      const started = performance.now();
      await Promise.all(list.map((name) => gate.use(() => oneWorkflow(name))));
      return (list.length * opsPerMachine) / ((performance.now() - started) / 1000);
    }

    async function oneWorkflow(name: string): Promise<void> {
      counts.started++;
      try {
        const row = (await insertMachine(db, { name, templateId: tpl.id, runStrategy: 'Manual' }))!;
        const spec = machineSpecSchema.parse({ machineId: row.id, name, runStrategy: 'Manual', template });
        const handle = await client.workflow.start<VmLifecycleWorkflow>(vmWorkflowType, {
          ...vmStartOptions({ spec, uuid: row.libvirtUuid }, tpl.name),
          taskQueue,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        // Provisioned: the first update waits its turn behind define and start.
        const stopped = await handle.executeUpdate(operationUpdates.shutdown, { args: [{ timeoutSeconds: 30 }] });
        const deleted = await handle.executeUpdate(operationUpdates.delete, { args: [{}] });
        const result: VmLifecycleResult = await handle.result();
        const p = await handle.query(progress).catch(() => undefined);
        const ok =
          stopped.observed === 'shutoff' &&
          deleted.observed === 'absent' &&
          result.phase === 'deleted' &&
          (p === undefined || p.operations === 2);
        if (ok) counts.asExpected++;
        else say(`${name} ended otherwise: shutdown ${stopped.observed}, delete ${deleted.observed}, ${result.phase}`);
      } catch (err) {
        counts.failed++;
        if (counts.failed <= 5) say(`${name} failed: ${describeError(err)}`);
      }
    }
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

function summary(waits: number[]): string {
  if (!waits.length) return 'none';
  const sorted = [...waits].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${sorted.length} borrows, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted[sorted.length - 1]} ms`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (r: number) => `${r.toFixed(2)}x`;
const ops = (s: PairedResult['ratio']) => `${fmt(s.median).padStart(6)} ops/s ±${Math.round(s.spread * 100)} %`;

function describeError(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return `${err instanceof Error ? err.message : String(err)}${cause?.message ? `: ${cause.message}` : ''}`;
}
