// Every static rule `valet check` runs, in the order it reports them.
import { enqueueWithoutDeliveryKey } from './enqueue-without-delivery-key.js';
import { fetchInQueryOrMutation } from './fetch-in-query-or-mutation.js';
import { fetchInTransaction } from './fetch-in-transaction.js';
import { insertInRetryableAction } from './insert-in-retryable-action.js';
import { publicActionCallsThirdParty } from './public-action-calls-third-party.js';
import { outerStateInTransaction } from './outer-state-in-transaction.js';
import type { Rule } from './rule.js';
import { storageOutsideActions } from './storage-outside-actions.js';
import { writesOutsideTransaction } from './writes-outside-transaction.js';

export const RULES: readonly Rule[] = [
  fetchInQueryOrMutation,
  fetchInTransaction,
  outerStateInTransaction,
  writesOutsideTransaction,
  enqueueWithoutDeliveryKey,
  insertInRetryableAction,
  publicActionCallsThirdParty,
  storageOutsideActions,
];
