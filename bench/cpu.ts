import { readFileSync, readdirSync } from 'node:fs';

const ticksPerSecond = 100;

/** utime + stime, and with `children` the CPU of the children it has reaped (cutime + cstime). */
function statCpu(path: string, children = false): number {
  const stat = readFileSync(path, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / ticksPerSecond;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return statCpu(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a process and its children, live or ended (a Postgres postmaster and its
 * backends, one per connection: a closed connection's backend is counted by its parent).
 */
export function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    let total = statCpu(`/proc/${pid}/stat`, true);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean))
        total += treeCpuSeconds(Number(child));
    }
    return total;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a live process's threads, summed by thread name: in a Node worker the
 * main thread (`node`), the SDK's workflow threads, the Rust core's (`tokio-runtime-w`),
 * V8's helpers (garbage collection) and libuv's pool. A thread that ended is not counted.
 */
export function threadCpuSeconds(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      // The main thread (its id is the pid's) apart from the workflow threads, which Node names alike.
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main' : comm;
      byName.set(name, (byName.get(name) ?? 0) + statCpu(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // ended between the listing and the read
    }
  }
  return byName;
}

/** Resident and peak resident memory of a process, in MB (VmRSS, VmHWM); zeros once it is gone. */
export function memoryMb(pid: number | undefined): { rss: number; peak: number } {
  if (pid === undefined) return { rss: 0, peak: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}
