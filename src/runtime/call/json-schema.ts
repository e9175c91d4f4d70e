// A function's validators as JSON Schema (draft 2020-12), for tools that describe functions to
// others: `valet mcp`'s `functions` tool gives an agent each function's args and return type.
import type { AnyValidator, PropertyValidators } from '../../server/values.js';

export type JsonSchema = Record<string, unknown>;

export function validatorSchema(validator: AnyValidator): JsonSchema {
  const children = validator.children as Record<string, AnyValidator>;
  switch (validator.kind) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'null':
      return { type: 'null' };
    case 'any':
      return {};
    case 'bytes':
      return {
        type: 'object',
        properties: { $bytes: { type: 'string', contentEncoding: 'base64' } },
        required: ['$bytes'],
      };
    case 'id':
      return { type: 'string', description: validator.description };
    case 'literal':
      return { const: JSON.parse(validator.description) };
    case 'array':
      return { type: 'array', items: validatorSchema(children.element!) };
    case 'record':
      return { type: 'object', additionalProperties: validatorSchema(children.values!) };
    case 'optional':
      return validatorSchema(children.inner!);
    case 'union':
      return { anyOf: Object.values(children).map(validatorSchema) };
    case 'object':
      return objectSchema(children);
    default:
      return { description: validator.description };
  }
}

/** An args object: each field a property, the ones not optional required, nothing else allowed. */
export function objectSchema(fields: PropertyValidators): JsonSchema {
  const properties = Object.fromEntries(Object.entries(fields).map(([name, v]) => [name, validatorSchema(v)]));
  const required = Object.entries(fields)
    .filter(([, v]) => !v.isOptional)
    .map(([name]) => name);
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}
