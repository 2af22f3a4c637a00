import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createCbbClient, type CbbClient } from '../activities/cbb/client';
import { mapOrderToContact } from '../lib/cbb/fields';
import { loadConfig } from '../lib/infra/config';
import type { Order } from '../lib/cbb/order';
import { runningPid } from '../scripts/stack/proc';
import { startAppPart } from '../scripts/stack/parts';
import { appEnv, stackSettings } from '../scripts/stack/parts';
import { cbbAdminToken } from '../scripts/stack/secrets';
import { down, up } from '../scripts/stack/stack';
import { cbbSweepWorkflowType, type CbbSweepWorkflow } from '../lib/cbb/contract';
import { cpuSeconds, cpuSecondsOf } from './cpu';

/**
 * `npm run bench -- cbb-sync [orders=10000] [concurrency=200]`: pending orders through
 * the real stack (its own, in test slot 5 unless TEST_STACK_SLOT says otherwise), the
 * local CBB server answering after 5 ms. It prints orders per minute through Temporal
 * and the ratio to the same CBB calls made directly, without Temporal, at the same
 * concurrency, measured in the same run. Then, for scale, the CPU each part used per
 * order, and how many empty workflows a minute the same Temporal server runs at the
 * same concurrency: the most any one-workflow-per-order design can reach on it.
 */
export default async function bench(args: string[]): Promise<void> {
  const orders = Number(args[0] ?? 10_000);
  const concurrency = Number(args[1] ?? 200);
  process.env.TEST_STACK_SLOT ??= '5';
  const s = stackSettings('test');
  const env = appEnv(s);
  const config = loadConfig({ ...process.env, ...env, LOG_PRETTY: 'false' });
  const say = (m: string) => console.log(`[bench cbb-sync] ${m}`);

  say('building the worker (tsc and workflow bundle)');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: s.root, stdio: ['ignore', 'ignore', 'inherit'] });
  say(`starting an isolated stack in ${s.dataDir}`);
  await down(s);
  rmSync(s.dataDir, { recursive: true, force: true });
  await up(s, { only: ['postgres', 'redis', 'temporal', 'cbb'], fresh: true });
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 10 });
  const admin = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${s.ports.cbb}/_admin${path}`, {
      method: path === '/faults' ? 'PUT' : 'POST',
      // Read after `up`: the stack generates the token into the data folder it has just made afresh.
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cbbAdminToken(s)}` },
      body: JSON.stringify(body),
    });
  try {
    await admin('/faults', { latencyMs: 5 });
    const cbb = createCbbClient(config.cbb);

    say(`baseline: ${orders} orders' CBB calls made directly, ${concurrency} at a time`);
    const directMs = await direct(cbb, orders, concurrency);
    const directRate = (orders / directMs) * 60_000;
    await admin('/reset', {});
    await admin('/faults', { latencyMs: 5 });

    await pool.query(
      `INSERT INTO orders (external_id, branch, customer_name, email, phone, whatsapp_alerts, visa_country, visa_type, visa_quantity, amount, currency)
       SELECT 'BENCH-' || g, 'IL', 'Bench Customer', 'bench' || g || '@example.com', '+97254' || lpad(g::text, 7, '0'), true, 'India', 'tourist', 1, 99, 'ILS'
       FROM generate_series(1, $1) g`,
      [orders],
    );
    say(`starting the worker; sweeping ${orders} pending orders, ${concurrency} syncs at a time`);
    await startAppPart(s, 'worker', {
      LOG_LEVEL: 'warn',
      DATABASE_POOL_MAX: '60',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: String(concurrency + 50),
      WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: String(concurrency + 50),
      CBB_SWEEP_CONCURRENCY: String(concurrency),
      // The bench starts its own sweep; the schedule's would run beside it and double the concurrency.
      CBB_SWEEP_EVERY: '24h',
    });
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    const client = new Client({ connection });
    const pids = { temporal: runningPid(s, 'temporal'), worker: runningPid(s, 'worker'), cbb: runningPid(s, 'cbb') };
    const cpuBefore = {
      temporal: cpuSeconds(pids.temporal),
      worker: cpuSeconds(pids.worker),
      cbb: cpuSeconds(pids.cbb),
      postgres: cpuSecondsOf('postgres'),
    };
    const started = Date.now();
    await client.workflow.start<CbbSweepWorkflow>(cbbSweepWorkflowType, {
      taskQueue: config.temporal.taskQueue,
      workflowId: 'cbb-sweep-bench',
      args: [{ concurrency }],
    });
    let done = 0;
    let lastReport = Date.now();
    while (done < orders) {
      await new Promise((r) => setTimeout(r, 500));
      const { rows } = await pool.query(
        "SELECT count(*)::int AS n FROM orders WHERE cbb_status = 'synced' AND whatsapp_status <> 'pending'",
      );
      done = rows[0].n;
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        say(`  ${done} of ${orders} done after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
      if (Date.now() - started > 30 * 60_000) throw new Error(`only ${done} of ${orders} orders done after 30 minutes`);
    }
    const temporalMs = Date.now() - started;
    const perOrderMs = (after: number, before: number) => (((after - before) * 1000) / orders).toFixed(1);
    const cpu = [
      `Temporal server ${perOrderMs(cpuSeconds(pids.temporal), cpuBefore.temporal)}`,
      `worker ${perOrderMs(cpuSeconds(pids.worker), cpuBefore.worker)}`,
      `Postgres ${perOrderMs(cpuSecondsOf('postgres'), cpuBefore.postgres)}`,
      `CBB server ${perOrderMs(cpuSeconds(pids.cbb), cpuBefore.cbb)}`,
    ].join(', ');
    await connection.close();
    const temporalRate = (orders / temporalMs) * 60_000;

    say(`ceiling: ${orders} empty workflows on the same server, ${concurrency} at a time`);
    const emptyMs = await emptyWorkflows(env.TEMPORAL_ADDRESS, orders, concurrency);
    const emptyRate = (orders / emptyMs) * 60_000;

    say(
      `through Temporal:  ${Math.round(temporalRate)} orders/min (${(temporalMs / 1000).toFixed(1)} s for ${orders})`,
    );
    say(`direct CBB calls:  ${Math.round(directRate)} orders/min (${(directMs / 1000).toFixed(1)} s for ${orders})`);
    say(
      `ratio (Temporal / direct): ${(temporalRate / directRate).toFixed(3)}  (target ≥ 0.5; throughput target ≥ 12000 orders/min)`,
    );
    say(`CPU per order through Temporal, ms: ${cpu}`);
    say(
      `empty workflows:   ${Math.round(emptyRate)} /min on this server; the sync reached ${(temporalRate / emptyRate).toFixed(2)} of that ceiling`,
    );
  } finally {
    await pool.end();
    say('stopping the stack');
    await down(s);
  }
}

/** The calls one sync makes to CBB (find, create with fields, read back, send), with no Temporal and no Postgres. */
async function direct(cbb: CbbClient, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = Date.now();
  const one = async (i: number) => {
    const order: Order = {
      id: String(i),
      externalId: `DIRECT-${i}`,
      branch: 'IL',
      isTest: false,
      customerName: 'Bench Customer',
      email: null,
      phone: `+97253${String(i).padStart(7, '0')}`,
      whatsappAlerts: true,
      visaCountry: 'India',
      visaType: 'tourist',
      visaQuantity: 1,
      entryDate: null,
      amount: '99',
      currency: 'ILS',
      urgency: 'standard',
      createdAt: new Date().toISOString(),
    };
    const mapped = mapOrderToContact(order);
    if (!mapped.ok) throw new Error('bench order invalid');
    const c = mapped.contact;
    const found = await cbb.findContactsByPhone(c.phone);
    const contact =
      found[0] ??
      (await cbb.createContact({
        ...c,
        fields: c.fields.map((f) => ({ name: f.name, value: f.value })),
        tags: ['visa-order'],
      }));
    const read = await cbb.getContact(contact.id);
    await Promise.all(
      c.fields.filter((f) => read.fields[f.id] !== f.value).map((f) => cbb.setCustomField(contact.id, f.id, f.value)),
    );
    await cbb.sendWhatsappTemplate(contact.id, {
      template: 'order_confirmation',
      language: 'he',
      params: { order_id: order.externalId },
    });
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return Date.now() - started;
}

/** Workflows with no steps, started eagerly on an in-process worker the way the sweep starts syncs, each awaited. */
async function emptyWorkflows(address: string, count: number, concurrency: number): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const taskQueue = 'bench-empty';
  try {
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('./workflows/empty'),
      maxConcurrentWorkflowTaskExecutions: concurrency + 50,
    });
    const client = new Client({ connection });
    return await worker.runUntil(async () => {
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const id = next++;
            const handle = await client.workflow.start('emptyWorkflow', {
              taskQueue,
              workflowId: `bench-empty-${id}`,
              requestEagerStart: true,
            });
            await handle.result();
          }
        }),
      );
      return Date.now() - started;
    });
  } finally {
    await connection.close();
  }
}
