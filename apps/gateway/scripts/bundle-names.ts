import { type Node, parse } from 'acorn';

/**
 * The bundle without the keepNames calls that give a function the name JavaScript gives it anyway:
 * an anonymous arrow or function that is a variable's initial value, assigned to a variable or a
 * property's value is named after it as it is made (the language's named evaluation), at no cost, and
 * a function declaration bears its own name. esbuild writes `let later=__name(()=>…,"later")` and
 * `function f(){}__name(f,"f")` all the same, where the name is the one it kept; wrapped in the call,
 * the arrow is no longer the initial value and is made nameless, then named (or, once made often,
 * left nameless: cheaperNames). In a function that runs per request each is a call, a `name` read, a
 * `prototype` lookup and a Map lookup: 44 a request on the chat route, 2 without them (BENCHMARKS.md,
 * "Changes, each measured"). A call whose name differs from the variable's (esbuild renamed the
 * variable: `let later2=__name(…,"later")`) stays, as do classes' (their static blocks).
 */
export function namedByJavaScript(source: string): string {
  const edits: { start: number; end: number }[] = [];
  visit(parse(source, { ecmaVersion: 'latest', sourceType: 'script' }), (node, parent) => {
    const kept = keptName(node);
    if (kept !== undefined && isAnonymousFunction(kept.fn) && namesLikeJavaScript(parent, node, kept.name)) {
      // The call's head and tail go, the function stays: calls inside it are edited too.
      edits.push({ start: node.start, end: kept.fn.start }, { start: kept.fn.end, end: node.end });
    }
    if (node.type === 'ExpressionStatement' && parent !== undefined && Array.isArray(parent.body))
      edits.push(...declarationsNamed(node, parent.body as Node[]));
  });
  let out = '';
  let from = 0;
  for (const edit of edits.sort((a, b) => a.start - b.start)) {
    out += source.slice(from, edit.start);
    from = edit.end;
  }
  out += source.slice(from);
  parse(out, { ecmaVersion: 'latest', sourceType: 'script' }); // throws if an edit broke the bundle
  return out;
}

type AnyNode = Node & Record<string, unknown>;

/**
 * The parts of a statement that name a function declared beside it after itself (`__name(f,"f")`), to
 * delete: the statement, or those expressions of its sequence (minifySyntax joins statements:
 * `__name(handleReject,"handleReject"),next()`, Fastify's hook runners, three a request) with their commas.
 */
function declarationsNamed(statement: AnyNode, statements: Node[]): { start: number; end: number }[] {
  const expression = statement.expression as AnyNode;
  const parts = expression.type === 'SequenceExpression' ? (expression.expressions as AnyNode[]) : [expression];
  const needless = parts.map((part) => {
    const call = keptName(part);
    return call?.fn.type === 'Identifier' && identifierName(call.fn) === call.name && declaresFunction(statements, call.name);
  });
  const lastKept = needless.lastIndexOf(false);
  if (lastKept < 0) return [{ start: statement.start, end: statement.end }];
  const edits = [];
  // One before a kept part goes with the comma after it; those after the last kept part, with the comma before them.
  for (let i = 0; i < lastKept; i++) if (needless[i]) edits.push({ start: parts[i].start, end: parts[i + 1].start });
  if (lastKept < parts.length - 1) edits.push({ start: parts[lastKept].end, end: parts[parts.length - 1].end });
  return edits;
}

/** `__name(fn, "name")`: its function and name; undefined for anything else. */
function keptName(node: Node): { fn: AnyNode; name: string } | undefined {
  const call = node as AnyNode;
  if (call.type !== 'CallExpression' || identifierName(call.callee as Node) !== '__name') return undefined;
  const [fn, name] = call.arguments as AnyNode[];
  return name?.type === 'Literal' && typeof name.value === 'string' ? { fn, name: name.value } : undefined;
}

function isAnonymousFunction(fn: AnyNode): boolean {
  return fn.type === 'ArrowFunctionExpression' || (fn.type === 'FunctionExpression' && fn.id === null);
}

/** Whether `call`, where it stands in `parent`, gives a function made there the name `name` by itself. */
function namesLikeJavaScript(parent: AnyNode | undefined, call: Node, name: string): boolean {
  if (parent === undefined) return false;
  if (parent.type === 'VariableDeclarator') return parent.init === call && identifierName(parent.id as Node) === name;
  if (parent.type === 'AssignmentExpression')
    return parent.operator === '=' && parent.right === call && identifierName(parent.left as Node) === name;
  if (parent.type === 'Property' || parent.type === 'PropertyDefinition')
    return (
      parent.value === call &&
      !parent.computed &&
      parent.kind !== 'get' &&
      parent.kind !== 'set' &&
      propertyName(parent.key as AnyNode) === name
    );
  return false;
}

function identifierName(node: Node): string | undefined {
  return node.type === 'Identifier' ? ((node as AnyNode).name as string) : undefined;
}

function propertyName(key: AnyNode): string | undefined {
  if (key.type === 'Identifier') return key.name as string;
  return key.type === 'Literal' && typeof key.value === 'string' ? key.value : undefined;
}

function declaresFunction(statements: Node[], name: string): boolean {
  return statements.some((s) => s.type === 'FunctionDeclaration' && identifierName((s as AnyNode).id as Node) === name);
}

/** Every node under `node`, with its parent, depth first. */
function visit(root: Node, enter: (node: AnyNode, parent: AnyNode | undefined) => void): void {
  const stack: [AnyNode, AnyNode | undefined][] = [[root as AnyNode, undefined]];
  while (stack.length > 0) {
    const [node, parent] = stack.pop()!;
    enter(node, parent);
    for (const key in node) {
      const child = node[key];
      if (Array.isArray(child)) {
        for (const item of child) if (item && typeof (item as AnyNode).type === 'string') stack.push([item as AnyNode, node]);
      } else if (child && typeof (child as AnyNode).type === 'string') stack.push([child as AnyNode, node]);
    }
  }
}
