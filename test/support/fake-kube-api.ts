import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from './helm';

/** The resources helm's `lookup` resolves through discovery, by group/version. */
const RESOURCES: Record<string, { name: string; kind: string }[]> = {
  v1: [{ name: 'secrets', kind: 'Secret' }],
  'apps/v1': [
    { name: 'deployments', kind: 'Deployment' },
    { name: 'statefulsets', kind: 'StatefulSet' },
  ],
};

function notFound(path: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` };
}

/**
 * A Kubernetes API server on 127.0.0.1 that answers what helm's `lookup` asks: discovery of
 * the group/versions above and GETs of the live objects given; 404 for anything else.
 * `kubeconfig` points helm (`--kubeconfig`) at it.
 */
export class FakeKubeApi {
  kubeconfig = '';
  private readonly server: Server;
  private readonly dir = mkdtempSync(join(tmpdir(), 'fake-kube-api-'));

  constructor(private readonly objects: Manifest[]) {
    this.server = createServer((req, res) => {
      const body = this.answer(req.url ?? '/');
      res.writeHead(body.kind === 'Status' ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    const { port } = this.server.address() as { port: number };
    this.kubeconfig = join(this.dir, 'kubeconfig');
    writeFileSync(
      this.kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
        users: [{ name: 'fake', user: {} }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((done) => this.server.close(done));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private answer(url: string): { kind: string; [field: string]: unknown } {
    const path = url.split('?')[0];
    const groupVersion = /^\/(?:api|apis)\/(.+)$/.exec(path)?.[1];
    if (groupVersion && RESOURCES[groupVersion]) {
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion,
        resources: RESOURCES[groupVersion].map((r) => ({ ...r, singularName: '', namespaced: true, verbs: ['get', 'list'] })),
      };
    }
    const found = this.objects.find((m) => {
      const resource = RESOURCES[m.apiVersion]?.find((r) => r.kind === m.kind)?.name;
      const root = m.apiVersion.includes('/') ? 'apis' : 'api';
      return path === `/${root}/${m.apiVersion}/namespaces/${m.metadata.namespace}/${resource}/${m.metadata.name}`;
    });
    return found ?? notFound(path);
  }
}
