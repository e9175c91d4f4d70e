// Args that pass a function's validators, for the dashboard's run form to start from: the
// required fields only, each the simplest value of its type (a union's null when it takes one,
// so a paginated query starts at the first page: `{ numItems: 10, cursor: null }`).
import type { AnyValidator, PropertyValidators } from '../../server/values.js';

/** A page size that reads as one: what the form offers for `numItems`. */
const EXAMPLE_PAGE_SIZE = 10;

function exampleOf(validator: AnyValidator, name: string): unknown {
  const children = validator.children as Record<string, AnyValidator>;
  switch (validator.kind) {
    case 'string':
      return '';
    case 'number':
      return name === 'numItems' ? EXAMPLE_PAGE_SIZE : 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'record':
      return {};
    case 'object':
      return exampleArgs(children);
    case 'literal':
      return JSON.parse(validator.description);
    case 'union': {
      const members = Object.values(children);
      const nullable = members.find((member) => member.kind === 'null');
      return nullable ? null : members[0] ? exampleOf(members[0], name) : null;
    }
    case 'optional':
      return exampleOf(children.inner!, name);
    default:
      // null, any, an id (no example id passes: the form says which to fill), bytes.
      return null;
  }
}

export function exampleArgs(fields: PropertyValidators): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, validator]) => !validator.isOptional)
      .map(([name, validator]) => [name, exampleOf(validator, name)]),
  );
}
