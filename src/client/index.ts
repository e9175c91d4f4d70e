// `valet/client`: the plain client, for browsers and Node. Isomorphic: Node-only pieces
// (the file-backed queue) live in `valet/client/node`.
export { ValetClient } from './valet-client.js';
export type { PaginatedItem, ValetClientOptions } from './valet-client.js';
export type { AuthState, FetchToken } from './auth.js';
export { defaultSessionStore, ValetAuthClient, valetAuthOf } from './valet-auth.js';
export type { AuthProviderInfo, Navigate, SessionStore, ValetAuthSession } from './valet-auth.js';
export type { PaginatedState, PaginationStatus } from './paginated.js';
export { ValetClientError } from './errors.js';
export type { ClientErrorCode, ErrorCode } from '../protocol/error-codes.js';
export { IndexedDbStorage, MemoryStorage } from './storage.js';
export type { MutationStorage, PendingMutation, QueueState } from './storage.js';
export type { OptimisticLocalStore, OptimisticUpdate } from './local-store.js';
export { registerPush, pushUnsupportedReason } from './push.js';
export { uploadFile } from './upload.js';
export type { UploadFileOptions } from './upload.js';
export type { PushRegistration, RegisterPushOptions } from './push.js';
