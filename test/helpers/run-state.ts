import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

/** What the Web UI shows as a run's current details: the SDK's metadata query answers it. */
export async function currentDetails(handle: WorkflowHandle): Promise<string | undefined> {
  const { currentDetails } = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return currentDetails;
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
export const historyEvents = async (handle: WorkflowHandle): Promise<HistoryEvent[]> =>
  (await handle.fetchHistory()).events ?? [];
export const timerStarts = (history: HistoryEvent[]) => history.filter((e) => e.timerStartedEventAttributes);
