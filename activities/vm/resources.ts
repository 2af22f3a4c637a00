import type { MetricMeter } from '@temporalio/common';
import type { Config } from '../../lib/infra/config';
import { createVmAdapter, type VmAdapter } from './adapter';
import { createLibvirtPool, type LibvirtPool, type PoolStats } from './pool';
import { createVirsh } from './virsh';

/**
 * What a worker builds once for the VM activities: the libvirt connection pool and the
 * adapter on it. The pool opens nothing before the first VM activity, so a worker (or a
 * test) that never runs one never dials libvirt; `close` drains it at shutdown.
 */
export interface VmResources {
  pool: LibvirtPool;
  adapter: VmAdapter;
  close(): Promise<void>;
}

export function createVmResources(libvirt: Config['libvirt'], meter?: MetricMeter): VmResources {
  const waits = meter?.createHistogram(
    'libvirt_pool_wait',
    'float',
    'ms',
    'How long a VM activity waited for a pooled libvirt connection',
  );
  const pool = createLibvirtPool({
    uri: libvirt.uri,
    ...libvirt.pool,
    lazy: true,
    observeWait: waits ? (ms) => waits.record(ms) : undefined,
  });
  const adapter = createVmAdapter({
    pool,
    virsh: createVirsh({ uri: libvirt.uri, timeoutMs: libvirt.virshTimeoutMs }),
  });
  const stopGauges = meter ? exportPoolGauges(meter, pool) : () => undefined;
  return {
    pool,
    adapter,
    async close() {
      stopGauges();
      await pool.drain();
    },
  };
}

const gauges: [keyof PoolStats, string][] = [
  ['size', 'Open libvirt connections'],
  ['available', 'Idle libvirt connections'],
  ['borrowed', 'libvirt connections lent to activities'],
  ['pending', 'Activities waiting for a libvirt connection'],
  ['max', 'Most libvirt connections the pool opens'],
  ['created', 'libvirt connections opened since the worker started'],
  ['destroyed', 'libvirt connections closed since the worker started'],
  ['createErrors', 'Failed attempts to open a libvirt connection'],
  ['acquired', 'Connections lent since the worker started'],
  ['timeouts', 'Borrowers that gave up after the acquire timeout'],
];

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The pool's statistics as gauges on the worker's /metrics (the Temporal Runtime's
 * Prometheus endpoint, so the worker keeps one metrics port). Read every few seconds:
 * a scrape interval is longer, and reading them costs nothing.
 */
export function exportPoolGauges(meter: MetricMeter, pool: LibvirtPool, everyMs = 5_000): () => void {
  const made = gauges.map(
    ([key, help]) => [key, meter.createGauge(`libvirt_pool_${snake(key)}`, 'int', '', help)] as const,
  );
  const waitMax = meter.createGauge('libvirt_pool_wait_max', 'float', 'ms', 'Longest wait for a libvirt connection');
  const publish = () => {
    const s = pool.stats();
    for (const [key, gauge] of made) gauge.set(s[key] as number);
    waitMax.set(s.waits.maxMs);
  };
  publish();
  const timer = setInterval(publish, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
