import { cpuSeconds, memoryMb, threadCpuSeconds, treeCpuSeconds } from '../cpu';

/** What the stack's processes had used at one moment: CPU per process, per worker thread, and syncs per worker. */
export interface Snapshot {
  cpu: Record<string, number>;
  threads: Map<string, number>[];
  syncs: number[];
}

export interface StackPids {
  temporal?: number;
  postgres?: number;
  cbb?: number;
  workers: { pid: number; metricsPort: number }[];
}

/** Order syncs a worker ended (any outcome), from its own metrics: who ran which share of a sweep. */
async function syncsEnded(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('cbb_order_syncs_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

export async function snapshot(p: StackPids): Promise<Snapshot> {
  const cpu: Record<string, number> = {
    temporal: cpuSeconds(p.temporal),
    postgres: treeCpuSeconds(p.postgres),
    cbb: cpuSeconds(p.cbb),
  };
  p.workers.forEach((w, i) => (cpu[`worker ${i + 1}`] = cpuSeconds(w.pid)));
  return {
    cpu,
    threads: p.workers.map((w) => threadCpuSeconds(w.pid)),
    syncs: await Promise.all(p.workers.map((w) => syncsEnded(w.metricsPort))),
  };
}

export interface RoundUse {
  /** CPU milliseconds per order, by process. */
  cpuMs: Record<string, number>;
  /** CPU milliseconds per order of each worker's threads, by thread name. */
  threadMs: Record<string, number>[];
  /** The share of the round's syncs each worker ran. */
  shares: number[];
}

export function usedBetween(before: Snapshot, after: Snapshot, orders: number): RoundUse {
  const cpuMs: Record<string, number> = {};
  for (const k of Object.keys(after.cpu)) cpuMs[k] = ((after.cpu[k]! - (before.cpu[k] ?? 0)) * 1000) / orders;
  const threadMs = after.threads.map((m, i) => {
    const out: Record<string, number> = {};
    for (const [name, s] of m) out[name] = ((s - (before.threads[i]?.get(name) ?? 0)) * 1000) / orders;
    return out;
  });
  const ran = after.syncs.map((n, i) => n - (before.syncs[i] ?? 0));
  const total = ran.reduce((a, b) => a + b, 0);
  return { cpuMs, threadMs, shares: ran.map((n) => (total ? n / total : 0)) };
}

/** Peak resident memory of each worker since it started (the kernel's high-water mark), in MB. */
export const peakRssMb = (p: StackPids) => p.workers.map((w) => Math.round(memoryMb(w.pid).peak));
