// `valet/server`: everything user code and generated code import. Isomorphic on purpose: the
// generated api.ts is imported by browser bundles too, so nothing here may touch Node.
export { v, Validator, validateFields, formatValidationError, describeValue } from './values.js';
export type {
  GenericId,
  Infer,
  ObjectType,
  PropertyValidators,
  AnyValidator,
  ValidationError,
  ValidateOptions,
} from './values.js';
export { defineSchema, defineTable, SchemaDefinition, TableDefinition } from './schema.js';
export { paginationOptsValidator } from './pagination.js';
export { defineMigration, isMigrationDefinition } from './migrations.js';
export type { DefineMigration, MigrationDefinition, MigrationOptions } from './migrations.js';
export type {
  AnyDataModel,
  DataModelFromSchema,
  GenericDataModel,
  SystemFields,
  TableInfo,
  IndexDefinition,
} from './schema.js';
export {
  defineQuery,
  defineMutation,
  defineAction,
  isFunctionDefinition,
  ACCESS_LEVELS,
  DEFAULT_ACTION_TIMEOUT_MS,
} from './functions.js';
export type {
  Access,
  ActionDefinition,
  AnyFunctionDefinition,
  DefineAction,
  DefineMutation,
  DefineQuery,
  FunctionDefinition,
  FunctionKind,
  FunctionsOf,
  MutationDefinition,
  QueryDefinition,
  RefOf,
} from './functions.js';
export { functionRef, moduleReferences, parseFunctionPath, setActionInvoker } from './references.js';
export type {
  ActionCallOptions,
  ActionReference,
  AnyFunctionReference,
  ArgsOfRef,
  OptionalArgs,
  OptionalArgsAnd,
  FunctionReference,
  ReturnsOfRef,
} from './references.js';
export type { AuthConfig, AuthProvider, CustomJwtAuthProvider, OidcAuthProvider } from './auth-config.js';
export type {
  ActionCtx,
  Auth,
  EmailMessage,
  EmailOutbox,
  HttpActionCtx,
  Invoker,
  MutationCtx,
  PushMessage,
  PushNotification,
  PushOutbox,
  PushSubscriptionJson,
  QueryCtx,
  Scheduler,
  StorageActionWriter,
  StorageId,
  StorageReader,
  StorageWriter,
  UserIdentity,
} from './ctx.js';
export type {
  ActionDatabase,
  DatabaseReader,
  DatabaseWriter,
  FilterBuilder,
  FilterExpression,
  PaginationOptions,
  PaginationResult,
  ScheduledFunction,
  StoredFile,
  SearchFilterBuilder,
  SearchFilterFinalizer,
  SystemQuery,
  SystemReader,
  SystemTables,
} from './database.js';
export { httpAction, httpRouter, HttpRouter, HTTP_METHODS } from './http.js';
export type { HttpAction, HttpActionDefinition, HttpMethod, Route } from './http.js';
export { cronJobs, CronJobs } from './cron.js';
export type { CronJob, IntervalSpec } from './cron.js';
export { ValetError } from './errors.js';
export { signWebhookPayload, verifyWebhookSignature } from './webhooks.js';
export type { WebhookCheck, WebhookVerdict } from './webhooks.js';
