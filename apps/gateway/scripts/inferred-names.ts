import * as acorn from 'acorn';

type Node = acorn.Node & Record<string, unknown>;
type Cut = { from: number; to: number };

/**
 * keepNames' `__name(fn, "name")` calls taken out where JavaScript gives `fn` that name
 * anyway: a declaration's own name (`__name(next, "next")` after `function next`), a
 * function or class expression bearing it (`function next() {}`), and an anonymous one
 * that is the initializer of a binding, the value of a property or the right side of an
 * assignment of that name (`const onEnd = () => {}`, `{ getRequest: () => req }`), which the
 * language names. Each such call ran every time its closure was made, ~30 times a request
 * (Nest's switchToHttp, undici's and the executor's callbacks); the calls that set a name the
 * language would not (a class esbuild renamed `RouterModule3`, a closure passed as an
 * argument) are kept. The wrapper's own text is cut around `fn`, so calls nested in it are
 * handled the same way.
 */
export function withoutInferredNames(source: string): string {
  const cuts: Cut[] = [];
  visit(acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node, undefined, cuts);
  const kept: string[] = [];
  let from = 0;
  for (const cut of cuts.sort((a, b) => a.from - b.from)) {
    kept.push(source.slice(from, cut.from));
    from = cut.to;
  }
  kept.push(source.slice(from));
  return kept.join('');
}

function visit(node: Node, parent: Node | undefined, cuts: Cut[]): void {
  const call = nameCall(node);
  if (call && namedAnyway(call.target, call.name, node, parent)) {
    cuts.push({ from: node.start, to: call.target.start }, { from: call.target.end, to: node.end });
  }
  for (const key in node) {
    const child = node[key];
    if (Array.isArray(child)) for (const c of child) isNode(c) && visit(c, node, cuts);
    else if (isNode(child) && key !== 'parent') visit(child, node, cuts);
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).type === 'string';
}

function nameCall(node: Node): { target: Node; name: string } | undefined {
  if (node.type !== 'CallExpression') return undefined;
  const callee = node.callee as Node;
  const [target, name] = node.arguments as Node[];
  if (callee.type !== 'Identifier' || callee.name !== '__name' || !target || !name) return undefined;
  if (name.type !== 'Literal' || typeof name.value !== 'string') return undefined;
  return { target, name: name.value };
}

function namedAnyway(target: Node, name: string, call: Node, parent: Node | undefined): boolean {
  if (target.type === 'Identifier') return target.name === name;
  const own = target.id as Node | null | undefined;
  if (target.type === 'FunctionExpression' || target.type === 'ClassExpression') {
    if (own) return own.name === name;
  } else if (target.type !== 'ArrowFunctionExpression') return false;
  // An anonymous function or class: named by the binding, property or assignment it is the value of.
  if (!parent) return false;
  if (parent.type === 'VariableDeclarator') return parent.init === call && identifierNamed(parent.id, name);
  if (parent.type === 'Property')
    return parent.value === call && parent.kind === 'init' && !parent.computed && !parent.method && identifierNamed(parent.key, name);
  if (parent.type === 'AssignmentExpression') return parent.right === call && parent.operator === '=' && identifierNamed(parent.left, name);
  return false;
}

function identifierNamed(node: unknown, name: string): boolean {
  return isNode(node) && node.type === 'Identifier' && node.name === name;
}
