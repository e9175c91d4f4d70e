// ts-morph is CommonJS: loading it with require() instead of an ESM import skips Node's
// named-export scan of the bundle (~110 ms of the check's start-up on this machine).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsMorph = require('ts-morph') as typeof import('ts-morph');

export const { Node, Project, SyntaxKind } = tsMorph;
export type Node = import('ts-morph').Node;
