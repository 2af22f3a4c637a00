import {
  defaultPayloadConverter,
  workflowInfo,
  type Headers,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { correlationFromMemo, correlationHeader, correlationMemoKey } from '../lib/correlation';

/** Carries the workflow's correlation id (memo) to its activities, children and log lines. */
export const interceptors: WorkflowInterceptorsFactory = () => {
  const current = () => correlationFromMemo(workflowInfo().memo);
  // Regular and local activities take their headers the same way.
  const withCorrelationHeader = <I extends { headers: Headers }, O>(input: I, next: (input: I) => O): O => {
    const id = current();
    if (!id) return next(input);
    return next({
      ...input,
      headers: { ...input.headers, [correlationHeader]: defaultPayloadConverter.toPayload(id) },
    });
  };
  return {
    outbound: [
      {
        scheduleActivity: withCorrelationHeader,
        scheduleLocalActivity: withCorrelationHeader,
        startChildWorkflowExecution(input, next) {
          const id = current();
          if (!id || input.options.memo?.[correlationMemoKey]) return next(input);
          return next({
            ...input,
            options: { ...input.options, memo: { ...input.options.memo, [correlationMemoKey]: id } },
          });
        },
        getLogAttributes(attrs, next) {
          const id = current();
          return next(id ? { ...attrs, correlationId: id } : attrs);
        },
      },
    ],
  };
};
