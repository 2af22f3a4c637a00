import { createVirsh } from '../../../activities/vm/virsh';
import { libvirtUri } from '../../stack/libvirtd';
import { invariant, type Invariant } from '../invariants';
import { scaled, settled, type ChaosLoad, type LoadContext } from '../load';

/**
 * Machines on the stack's libvirtd: created through the API with every run strategy,
 * driven through operations and deletes during the window, then held to what libvirt
 * (read with virsh, a client we did not write) shows once a reconcile has run.
 */
interface Machine {
  id: string;
  name: string;
  runStrategy: string;
  status: string;
  observedState: string;
}

const strategies = ['Always', 'RerunOnFailure', 'Manual', 'Halted'];
const operations = ['start', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'snapshot'];
// virsh domstate's words, as the machines' observed states name them.
const virshWords: Record<string, string> = {
  running: 'running',
  idle: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

export function vmLoad(): ChaosLoad {
  const machines = new Map<string, { id: string; name: string; runStrategy: string }>();
  const deleted = new Set<string>();
  /** Snapshots by name, and what the API answered when each was asked for. */
  const snapshots: { machineId: string; name: string; status: number }[] = [];
  let operationsLeft = 0;
  let deletesLeft = 0;
  let opSeq = 0;

  const virsh = (ctx: LoadContext) => createVirsh({ uri: libvirtUri(ctx.s), timeoutMs: 20_000 });

  async function domains(ctx: LoadContext): Promise<Map<string, string>> {
    const v = virsh(ctx);
    const names = (await v.run('list', undefined, ['list', '--all', '--name']))
      .split('\n')
      .map((n) => n.trim())
      .filter((n) => n.startsWith(ctx.tag));
    const states = new Map<string, string>();
    for (const name of names) {
      const word = (await v.run('domstate', name, ['domstate', name]).catch(() => 'absent')).trim();
      states.set(name, virshWords[word] ?? word);
    }
    return states;
  }

  async function records(ctx: LoadContext): Promise<Machine[]> {
    const res = await ctx.api.call<{ machines: Machine[] }>(
      'GET /api/v1/machines',
      'GET',
      `/api/v1/machines?namePrefix=${ctx.tag}&limit=200`,
    );
    if (res.status !== 200) throw new Error(`GET /api/v1/machines answered ${res.status}`);
    return res.body.machines;
  }

  /** Live machines whose record and domain disagree, and domains of this run that belong to no live machine. */
  async function drift(ctx: LoadContext) {
    const [recs, doms] = await Promise.all([records(ctx), domains(ctx)]);
    const live = recs.filter((m) => m.status !== 'deleted');
    const disagree = live.filter((m) => (doms.get(m.name) ?? 'absent') !== m.observedState || m.status !== 'ready');
    const liveNames = new Set(live.map((m) => m.name));
    const leaked = [...doms.keys()].filter((d) => !liveNames.has(d));
    return { recs, doms, live, disagree, leaked };
  }

  async function create(ctx: LoadContext, template: string, n: number): Promise<void> {
    const name = `${ctx.tag}-m${n}`;
    const runStrategy = strategies[n % strategies.length];
    const res = await ctx.api
      .persist<{ machine: { id: string } }>('POST /api/v1/machines', 'POST', '/api/v1/machines', {
        name,
        templateId: template,
        runStrategy,
      })
      .catch(() => undefined);
    if (res?.status === 201)
      return void machines.set(res.body.machine.id, { id: res.body.machine.id, name, runStrategy });
    // The first try took and its answer was lost with the API: the name is ours already.
    const found = (await records(ctx).catch(() => [])).find((m) => m.name === name);
    if (found) machines.set(found.id, { id: found.id, name, runStrategy });
  }

  async function operate(ctx: LoadContext): Promise<void> {
    const live = [...machines.values()].filter((m) => !deleted.has(m.id));
    if (live.length === 0) return;
    const m = live[ctx.rng.int(live.length)];
    if (deletesLeft > 0 && operationsLeft <= deletesLeft * 4) {
      deletesLeft--;
      const res = await ctx.api
        .call('DELETE /api/v1/machines/{id}', 'DELETE', `/api/v1/machines/${m.id}`)
        .catch(() => undefined);
      if (res && res.status < 300) deleted.add(m.id);
      return;
    }
    operationsLeft--;
    const action = operations[ctx.rng.int(operations.length)];
    const body = action === 'snapshot' ? { name: `s${++opSeq}` } : {};
    const res = await ctx.api
      .call('POST /api/v1/machines/{id}/actions/{action}', 'POST', `/api/v1/machines/${m.id}/actions/${action}`, body)
      .catch(() => undefined);
    if (action === 'snapshot' && res)
      snapshots.push({ machineId: m.id, name: (body as { name: string }).name, status: res.status });
  }

  const reconcile = (ctx: LoadContext) =>
    ctx.api
      .call('POST /api/v1/schedules/{id}/trigger', 'POST', '/api/v1/schedules/vm-reconcile/trigger')
      .catch(() => undefined);

  return {
    name: 'vm',
    async start(ctx) {
      const template = await ctx.api.persist<{ id: string }>(
        'POST /api/v1/machine-templates',
        'POST',
        '/api/v1/machine-templates',
        {
          name: `${ctx.tag}-tiny`,
          vcpus: 1,
          memoryMiB: 128,
          os: { arch: 'x86_64' },
        },
      );
      if (template.status !== 201)
        throw new Error(`the machine template was refused: ${template.status} ${JSON.stringify(template.body)}`);
      const count = scaled(20, ctx.scale, 4);
      operationsLeft = scaled(32, ctx.scale, 6);
      deletesLeft = scaled(4, ctx.scale, 1);
      for (let i = 0; i < count; i++) await create(ctx, template.body.id, i);
      ctx.say(`vm: ${machines.size} machines, ${operationsLeft} operations and ${deletesLeft} deletes to come`);
    },
    async step(ctx) {
      if (operationsLeft > 0 || deletesLeft > 0) await operate(ctx);
    },
    async settle(ctx) {
      while (operationsLeft > 0 || deletesLeft > 0) await operate(ctx);
      let lastTrigger = 0;
      await settled(
        async () => {
          // A reconcile now, and again every 20 s while they disagree: what the schedule does on its interval.
          if (Date.now() - lastTrigger > 20_000) {
            lastTrigger = Date.now();
            await reconcile(ctx);
          }
          const d = await drift(ctx);
          return d.disagree.length === 0 && d.leaked.length === 0;
        },
        300_000,
        2000,
      );
    },
    async check(ctx) {
      const d = await drift(ctx);
      const own = d.recs.filter((m) => machines.has(m.id));
      const gone = [...deleted].filter((id) => {
        const rec = d.recs.find((m) => m.id === id);
        return rec && rec.status !== 'deleted';
      });
      const lies: string[] = [];
      for (const snap of snapshots.filter((x) => x.status === 503)) {
        const res = await ctx.api.call<{ snapshots?: { name: string }[] }>(
          'GET /api/v1/machines/{id}',
          'GET',
          `/api/v1/machines/${snap.machineId}`,
        );
        if (res.body?.snapshots?.some((x) => x.name === snap.name)) lies.push(`${snap.name} on ${snap.machineId}`);
      }
      const checks: Invariant[] = [
        invariant(
          'machines: every live record agrees with libvirt (state, or absent where its run strategy keeps it so), none stuck',
          d.disagree.length === 0 && own.length > 0,
          `${d.live.length} live machines, ${d.doms.size} domains of this run` +
            (d.disagree.length
              ? `; disagree: ${d.disagree
                  .slice(0, 5)
                  .map(
                    (m) =>
                      `${m.name} (${m.runStrategy}) ${m.status}/${m.observedState} vs ${d.doms.get(m.name) ?? 'absent'}`,
                  )
                  .join(', ')}`
              : ''),
        ),
        invariant(
          'machines: no leaked domain, and every delete the API accepted is done',
          d.leaked.length === 0 && gone.length === 0,
          `${deleted.size} deleted` +
            (d.leaked.length ? `; domains without a live machine: ${d.leaked.join(', ')}` : '') +
            (gone.length ? `; accepted deletes not done: ${gone.join(', ')}` : ''),
        ),
        invariant(
          'machines: no snapshot answered 503 was taken anyway',
          lies.length === 0,
          `${snapshots.length} snapshots asked for (${snapshots.filter((x) => x.status === 503).length} answered 503)` +
            (lies.length ? `; taken after a 503: ${lies.join(', ')}` : ''),
        ),
      ];
      return checks;
    },
    async stop(ctx) {
      for (const m of machines.values()) {
        if (deleted.has(m.id)) continue;
        await ctx.api.call('DELETE /api/v1/machines/{id}', 'DELETE', `/api/v1/machines/${m.id}`).catch(() => undefined);
      }
    },
  };
}
