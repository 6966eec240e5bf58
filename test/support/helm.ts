import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const CHART_DIR = resolve(REPO_ROOT, 'charts/ai-gateway');
/** Installed by scripts/test.sh (pinned helm, and tools/kube-strict). */
export const HELM = process.env.HELM_BIN;
export const KUBE_STRICT = process.env.KUBE_STRICT_BIN;
export const MISSING_TOOLS = !HELM || !KUBE_STRICT ? 'HELM_BIN / KUBE_STRICT_BIN unset (run npm test, which installs them)' : false;
/** The cluster version the chart is rendered for (GKE Autopilot's regular channel or later). */
export const KUBE_VERSION = '1.33.0';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface Rendered {
  text: string;
  manifests: Manifest[];
  /** The one manifest of `kind` named `name` (or the only one of that kind); throws otherwise. */
  one(kind: string, name?: string): Manifest;
  all(kind: string): Manifest[];
}

/** Values as helm flags: `-f ci/<file>` for each file, `--set` for each pair. */
export interface ValueSet {
  files?: string[];
  set?: Record<string, string>;
}

function valueFlags(values: ValueSet): string[] {
  return [
    ...(values.files ?? []).flatMap((f) => ['-f', resolve(CHART_DIR, f)]),
    ...Object.entries(values.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
}

export function helmTemplate(values: ValueSet = {}, release = 'gw', namespace = 'ai'): Rendered {
  const text = execFileSync(
    HELM!,
    ['template', release, CHART_DIR, '--namespace', namespace, '--kube-version', KUBE_VERSION, ...valueFlags(values)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => !!m);
  const all = (kind: string) => manifests.filter((m) => m.kind === kind);
  const one = (kind: string, name?: string) => {
    const found = all(kind).filter((m) => name === undefined || m.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, rendered ${found.length}`);
    return found[0];
  };
  return { text, manifests, one, all };
}

/** helm template expected to fail: returns its error output. */
export function helmTemplateError(values: ValueSet): string {
  const res = spawnSync(HELM!, ['template', 'gw', CHART_DIR, '--kube-version', KUBE_VERSION, ...valueFlags(values)], { encoding: 'utf8' });
  if (res.status === 0) throw new Error(`helm template succeeded with ${JSON.stringify(values)}`);
  return res.stderr;
}

export function helmLint(values: ValueSet): { status: number | null; output: string } {
  const res = spawnSync(HELM!, ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART_DIR, ...valueFlags(values)], {
    encoding: 'utf8',
  });
  return { status: res.status, output: res.stdout + res.stderr };
}

export interface StrictResult {
  kind: string;
  name: string;
  status: 'ok' | 'error' | 'unknown-kind';
  error?: string;
}

/** tools/kube-strict: decodes each manifest into its k8s.io/api Go type, refusing unknown fields. */
export function kubeStrict(text: string): StrictResult[] {
  const res = spawnSync(KUBE_STRICT!, [], { input: text, encoding: 'utf8' });
  if (res.status === 2) throw new Error(`kube-strict: ${res.stderr}`);
  return res.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as StrictResult);
}
