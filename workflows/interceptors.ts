import { defaultPayloadConverter, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { correlationFromMemo, correlationHeader, correlationMemoKey } from '../lib/correlation';

/** Carries the workflow's correlation id (memo) to its activities, children and log lines. */
export const interceptors: WorkflowInterceptorsFactory = () => {
  const current = () => correlationFromMemo(workflowInfo().memo);
  return {
    outbound: [
      {
        scheduleActivity(input, next) {
          const id = current();
          if (!id) return next(input);
          return next({
            ...input,
            headers: { ...input.headers, [correlationHeader]: defaultPayloadConverter.toPayload(id) },
          });
        },
        scheduleLocalActivity(input, next) {
          const id = current();
          if (!id) return next(input);
          return next({
            ...input,
            headers: { ...input.headers, [correlationHeader]: defaultPayloadConverter.toPayload(id) },
          });
        },
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
