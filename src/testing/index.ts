// `valet/testing`: test an app's functions on the real engine, in-process. Works under any test
// runner (vitest, node:test, …): nothing here depends on one.
export { anonymous, user, valetTest, ValetCallError, ValetTest } from './harness.js';
export type { Caller, TestEmail, TestPush, TestSignIn, ValetTestOptions } from './harness.js';
export { FetchNotMockedError } from './fetch-routes.js';
export type { FetchCall, FetchHandler } from './fetch-routes.js';
