import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { correlationHeader } from '../lib/correlation';
import { toFailure } from './failure';

/**
 * What every activity gets, regular or local, without anyone remembering a wrapper:
 * the correlation id from the workflow's headers on its log lines, and its AppErrors
 * turned into ApplicationFailures that retry or not by type.
 */
export const activityInterceptors: ActivityInterceptorsFactory = () => {
  let correlationId: string | undefined;
  return {
    inbound: {
      async execute(input, next) {
        const header = input.headers[correlationHeader];
        if (header) correlationId = defaultPayloadConverter.fromPayload<string>(header);
        try {
          return await next(input);
        } catch (err) {
          throw toFailure(err);
        }
      },
    },
    outbound: {
      getLogAttributes(attrs, next) {
        return next(correlationId ? { ...attrs, correlationId } : attrs);
      },
    },
  };
};
