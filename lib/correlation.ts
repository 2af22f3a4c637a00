/**
 * A correlation id follows one request from the API into its workflow (as memo) and
 * from the workflow to each activity (as a header), so every log line of the chain
 * can be found by it. Pure: shared by the workflow sandbox and the worker.
 */
export const correlationHeader = 'correlation-id';
export const correlationMemoKey = 'correlationId';

export function correlationFromMemo(memo: Record<string, unknown> | undefined): string | undefined {
  const value = memo?.[correlationMemoKey];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
