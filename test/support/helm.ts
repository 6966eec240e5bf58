import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const CHART_DIR = resolve(REPO_ROOT, 'charts/ai-gateway');
/** Installed by scripts/chart-tools.sh (pinned helm, tools/kube-strict, kubernetes-validate from PyPI). */
export const HELM = process.env.HELM_BIN;
export const KUBE_STRICT = process.env.KUBE_STRICT_BIN;
export const KUBERNETES_VALIDATE = process.env.KUBERNETES_VALIDATE_BIN;
export const MISSING_TOOLS =
  !HELM || !KUBE_STRICT || !KUBERNETES_VALIDATE
    ? 'HELM_BIN / KUBE_STRICT_BIN / KUBERNETES_VALIDATE_BIN unset (run npm test, which installs them)'
    : false;
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

/** Values as helm flags: `-f ci/<file>` for each file, `--set` for each pair; `apiVersions` the cluster offers (CRDs). */
export interface ValueSet {
  files?: string[];
  set?: Record<string, string>;
  /** `--set-string` for each pair: values that must stay strings (a nodeSelector's "true"). */
  setString?: Record<string, string>;
  apiVersions?: string[];
  /** `--skip-schema-validation`: what the template checks say on their own. */
  skipSchemaValidation?: boolean;
}

function valueFlags(values: ValueSet): string[] {
  return [
    ...(values.files ?? []).flatMap((f) => ['-f', resolve(CHART_DIR, f)]),
    ...Object.entries(values.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ...Object.entries(values.setString ?? {}).flatMap(([k, v]) => ['--set-string', `${k}=${v}`]),
    ...(values.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
    ...(values.skipSchemaValidation ? ['--skip-schema-validation'] : []),
  ];
}

/** `chart`: another copy of the chart (a release other than the working tree's). */
export function helmTemplate(values: ValueSet = {}, release = 'gw', namespace = 'ai', chart = CHART_DIR): Rendered {
  const text = execFileSync(HELM!, templateArgs(values, release, namespace, chart), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseRendered(text);
}

function templateArgs(values: ValueSet, release: string, namespace: string, chart = CHART_DIR): string[] {
  return ['template', release, chart, '--namespace', namespace, '--kube-version', KUBE_VERSION, ...valueFlags(values)];
}

/**
 * An upgrade's render against a cluster (`--dry-run=server --is-upgrade`): `lookup` reads the live
 * objects from `kubeconfig` (test/support/fake-kube-api.ts). The rendered manifests, or helm's error.
 */
export function helmUpgradeRender(kubeconfig: string, values: ValueSet, namespace: string): Promise<Rendered | { error: string }> {
  const args = [...templateArgs(values, 'gw', namespace), '--dry-run=server', '--is-upgrade', '--kubeconfig', kubeconfig];
  return new Promise((done) =>
    execFile(HELM!, args, { encoding: 'utf8' }, (err, stdout, stderr) => done(err ? { error: stderr } : parseRendered(stdout))),
  );
}

function parseRendered(text: string): Rendered {
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

/**
 * templates/NOTES.txt as `helm install` prints it. `helm template` never renders the notes, so this
 * renders a copy of the chart in which a ConfigMap template holds them (`tpl` of the same file, with
 * the same values, release and capabilities).
 */
export function helmNotes(values: ValueSet = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-notes-'));
  try {
    const chart = join(dir, 'ai-gateway');
    cpSync(CHART_DIR, chart, { recursive: true, dereference: true });
    writeFileSync(join(chart, 'files/NOTES.txt'), readFileSync(join(CHART_DIR, 'templates/NOTES.txt')));
    writeFileSync(
      join(chart, 'templates/notes-as-configmap.yaml'),
      '{ apiVersion: v1, kind: ConfigMap, metadata: { name: notes }, data: { notes: {{ tpl (.Files.Get "files/NOTES.txt") . | toJson }} } }\n',
    );
    const args = ['template', 'gw', chart, '--namespace', 'ai', '--kube-version', KUBE_VERSION, ...valueFlags(values)];
    const text = execFileSync(HELM!, [...args, '--show-only', 'templates/notes-as-configmap.yaml'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return parseRendered(text).one('ConfigMap', 'notes').data!.notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The strict JSON schemas of one Kubernetes release that kubernetes-validate ships (`v1.30.0-local-strict`...). */
export function kubernetesSchemaDirs(): { version: string; dir: string }[] {
  const venv = dirname(dirname(KUBERNETES_VALIDATE!));
  const python = readdirSync(join(venv, 'lib')).find((d) => d.startsWith('python'))!;
  const root = join(venv, 'lib', python, 'site-packages/kubernetes_validate/kubernetes-json-schema');
  return readdirSync(root)
    .map((d) => /^v(\d+\.\d+\.\d+)-local-strict$/.exec(d))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ version: m[1], dir: join(root, m[0]) }));
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

export interface SchemaResult {
  /** `kind/name` as kubernetes-validate names it. */
  resource: string;
  status: 'passed' | 'failed' | 'no-schema';
  message: string;
}

/**
 * kubernetes-validate (PyPI): every manifest against the OpenAPI schemas of one Kubernetes
 * release, strict (unknown fields refused). Kinds it has no schema for (CRDs) come back as `no-schema`.
 */
export function kubernetesValidate(text: string, version: string): SchemaResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'kubernetes-validate-'));
  const file = join(dir, 'rendered.yaml');
  writeFileSync(file, text);
  try {
    const res = spawnSync(KUBERNETES_VALIDATE!, ['--kubernetes-version', version, '--strict', file], { encoding: 'utf8' });
    const lines = (res.stdout + res.stderr).split('\n').filter((l) => /^(INFO|WARN|ERROR) /.test(l));
    return lines.map((line): SchemaResult => {
      const passed = /passed for resource (\S+) against/.exec(line);
      if (passed) return { resource: passed[1], status: 'passed', message: line };
      const missing = /Couldn't find schema for kind (\S+)/.exec(line);
      if (missing) return { resource: missing[1], status: 'no-schema', message: line };
      return { resource: /resource (\S+)/.exec(line)?.[1] ?? '?', status: 'failed', message: line };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
