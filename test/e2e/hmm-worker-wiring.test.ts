import { Client, Connection } from '@temporalio/client';
import { hmmTaskQueue } from '../../lib/hmm/contract';
import { selfCheckWorkflowType } from '../../lib/self-check/contract';
import { appEnv, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { stopAppProcesses } from '../helpers/app-parts';
import { libvirtdClients } from '../helpers/libvirtd';
import { waitUntil } from '../helpers/wait';

/**
 * The compiled hmm worker, started as `npm run up` starts it, is wired for the HMM process
 * alone: it registers only the analyses' workflows, and holds no libvirt connection.
 */
const s = stackSettings('test');
let connection: Connection;
let client: Client;
let pid: number;

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  client = new Client({ connection });
  pid = await startAppPart(s, 'hmm-worker');
}, 120_000);
afterAll(async () => {
  await stopAppProcesses('hmm-worker');
  await connection?.close();
});

test('a workflow of another process sent to the hmm task queue is not one its worker knows', async () => {
  const handle = await client.workflow.start(selfCheckWorkflowType, {
    taskQueue: hmmTaskQueue,
    workflowId: `hmm-wiring-${Date.now()}`,
    args: [{}],
  });
  try {
    let failure = '';
    await waitUntil('the hmm worker to fail the self-check’s workflow task', async () => {
      const { events } = await handle.fetchHistory();
      const failed = events?.find((e) => e.workflowTaskFailedEventAttributes);
      failure = failed?.workflowTaskFailedEventAttributes?.failure?.message ?? '';
      return failed !== undefined;
    });
    expect(failure).toContain(selfCheckWorkflowType);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  } finally {
    await handle.terminate('the hmm worker wiring test is done with it');
  }
});

test('the hmm worker holds no libvirt connection', async () => {
  const clients = await libvirtdClients();
  expect(clients.size).toBeGreaterThan(0); // the stack's keeper at least: the listing works
  expect([...clients.values()]).not.toContain(pid);
});
