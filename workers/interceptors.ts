import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { correlationHeader } from '../lib/correlation';

/** Reads the correlation id that the workflow put in the activity's headers into its log lines. */
export const correlationActivityInterceptor: ActivityInterceptorsFactory = () => {
  let correlationId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const header = input.headers[correlationHeader];
        if (header) correlationId = defaultPayloadConverter.fromPayload<string>(header);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(attrs, next) {
        return next(correlationId ? { ...attrs, correlationId } : attrs);
      },
    },
  };
};
