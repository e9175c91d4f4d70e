// What actions and HTTP routes get as ctx: an auto-commit db with transactions, the email
// outbox and the scheduler (inside the transaction when called inside it), and other functions.
import { authApi } from '../auth/identity.js';
import { actionDatabase, actionReader, actionWriter } from '../database-api.js';
import { storageApi } from '../files/api.js';
import type { InvocationState } from '../database-api.js';
import { emailApi } from '../outbox/enqueue-email.js';
import { pushApi } from '../outbox/push-api.js';
import { schedulerApi } from '../scheduler/api.js';
import { callerApi } from './caller-api.js';
import type { CallRequest, EngineCore } from './types.js';

export function actionContext(
  core: EngineCore,
  state: InvocationState,
  invoker: CallRequest['invoker'],
  source: string,
) {
  const write = actionWriter(state, core.connections);
  return {
    db: actionDatabase(state, core.connections),
    invoker,
    auth: authApi(invoker),
    email: emailApi(write, () => core.clock.now(), source, core.afterEnqueue),
    push: pushApi(write, invoker, () => core.clock.now(), source, core.pushPolicy, core.afterEnqueue),
    scheduler: schedulerApi({
      write,
      now: () => core.clock.now(),
      scheduledBy: source,
      onScheduled: core.afterSchedule,
      kindOf: (name) => core.registry.functions.get(name)?.kind,
    }),
    storage: storageApi({
      files: core.files,
      kind: 'action',
      read: actionReader(state, core.connections),
      write,
      now: () => core.clock.now(),
    }),
    ...callerApi(core, invoker, state),
  };
}
