import type { FollowLinks } from './answer';

/**
 * The follow links of an update: `status`, the URL of what it changes (the process's own
 * resource, readable with the same key), and the update's own URL under `updatesBase`.
 */
export function followLinks(status: string, updatesBase: string, updateId: string, runId?: string): FollowLinks {
  const query = runId ? `?runId=${encodeURIComponent(runId)}` : '';
  return { workflow: status, update: `${updatesBase}/${encodeURIComponent(updateId)}${query}` };
}
