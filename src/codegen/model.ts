// What codegen learns about an app (functions, their kinds, args and returns, tables): the
// templates' only input.
import type { Access, FunctionKind } from '../server/functions.js';

export interface FunctionModel {
  /** The export name: `get`, or `default`. */
  name: string;
  kind: FunctionKind;
  access: Access;
  safeToRetry: boolean;
  sensitive: boolean;
  /** 1-based line of the definition, for messages. */
  line: number;
}

export interface ModuleModel {
  /** Module path used in canonical function paths: `users`, `admin/users`. */
  path: string;
  /** File relative to the app root, with forward slashes: `valet/admin/users.ts`. */
  file: string;
  /** Import specifier relative to valet/, without extension: `admin/users`. */
  importPath: string;
  functions: FunctionModel[];
  /**
   * Its other exported values, by name: codegen cannot tell whether one is a function (made by a
   * wrapper, say), so the generated `Api` type keeps those whose type is a function definition.
   */
  otherExports: string[];
}

export interface AppModel {
  modules: ModuleModel[];
  hasSchema: boolean;
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic extends SourceLocation {
  message: string;
}
