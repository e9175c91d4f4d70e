// One module's syntax tree for the static rules: oxc-parser's ESTree (the parser codegen already
// loads; ~10 ms, where ts-morph and its TypeScript took ~300 ms and 14 MB of the install), with
// what the rules ask of it — parents, source text, descendants in source order, line:column.
import { parseModule } from '../codegen/parse.js';
import { lineLocator } from '../codegen/source-lines.js';

export interface SyntaxNode {
  type: string;
  start: number;
  end: number;
  [key: string]: any;
}

function isNode(value: unknown): value is SyntaxNode {
  return typeof value === 'object' && value !== null && typeof (value as SyntaxNode).type === 'string';
}

/** The child nodes of a node, in source order. */
function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (const key in node) {
    if (key === 'parent') continue;
    const value = node[key];
    if (Array.isArray(value)) for (const item of value) isNode(item) && children.push(item);
    else if (isNode(value)) children.push(value);
  }
  return children.sort((a, b) => a.start - b.start);
}

export class SyntaxTree {
  private readonly parents = new Map<SyntaxNode, SyntaxNode>();
  private readonly locate: ReturnType<typeof lineLocator>;

  private constructor(
    readonly file: string,
    readonly text: string,
    readonly program: SyntaxNode,
  ) {
    this.locate = lineLocator(file, text);
    const stack = [program];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const child of childrenOf(node)) {
        this.parents.set(child, node);
        stack.push(child);
      }
    }
  }

  /** Null when the module does not parse (codegen reports that, at its line). */
  static parse(file: string, text: string): SyntaxTree | null {
    const parsed = parseModule(file, text);
    if (parsed.errors.length > 0) return null;
    return new SyntaxTree(file, text, parsed.program as unknown as SyntaxNode);
  }

  textOf(node: SyntaxNode): string {
    return this.text.slice(node.start, node.end);
  }

  parentOf(node: SyntaxNode): SyntaxNode | undefined {
    return this.parents.get(node);
  }

  /** Every node under `node` (not itself), in source order. */
  descendants(node: SyntaxNode, type?: string): SyntaxNode[] {
    const found: SyntaxNode[] = [];
    const visit = (current: SyntaxNode) => {
      for (const child of childrenOf(current)) {
        if (type === undefined || child.type === type) found.push(child);
        visit(child);
      }
    };
    visit(node);
    return found;
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; column: number } {
    const { line, column } = this.locate(offset);
    return { line, column };
  }
}

/** `a.b` (not `a[b]`): the member's name, or null. */
export function memberName(node: SyntaxNode | undefined): string | null {
  if (node?.type !== 'MemberExpression' || node.computed) return null;
  return node.property?.type === 'Identifier' ? node.property.name : null;
}

/** An expression without the wrappers that do not change its value: `(x)`, `x as T`, `x satisfies T`, `x!`. */
export function unwrap(node: SyntaxNode | undefined): SyntaxNode | undefined {
  let current = node;
  while (
    current &&
    ['ParenthesizedExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression'].includes(current.type)
  )
    current = current.expression;
  return current;
}

export function isFunction(node: SyntaxNode | undefined): boolean {
  return node?.type === 'ArrowFunctionExpression' || node?.type === 'FunctionExpression';
}

/** A string literal's value, or a template literal's without substitutions; else null. */
export function stringValue(node: SyntaxNode | undefined): string | null {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value?.cooked ?? null;
  return null;
}

/** The property `key` of an object literal (`key: …`, `'key': …` or a method `key() {}`). */
export function propertyOf(object: SyntaxNode | undefined, key: string): SyntaxNode | undefined {
  if (object?.type !== 'ObjectExpression') return undefined;
  return object.properties.find(
    (property: SyntaxNode) =>
      property.type === 'Property' &&
      !property.computed &&
      (property.key.type === 'Identifier' ? property.key.name : property.key.value) === key,
  );
}
