import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type GatewayConfig } from '@gateway/config';
import { GatewayProcess } from '../support/gateway';
import {
  CHART_DIR,
  helmLint,
  helmTemplate,
  helmTemplateError,
  kubeStrict,
  MISSING_TOOLS,
  REPO_ROOT,
  type Manifest,
  type Rendered,
  type ValueSet,
} from '../support/helm';

/** The value sets CI renders: the defaults plus every file in charts/ai-gateway/ci/. */
const VALUE_SETS: [string, ValueSet][] = [
  ['default values', {}],
  ...readdirSync(resolve(CHART_DIR, 'ci')).map((f): [string, ValueSet] => [f.replace(/-values\.yaml$/, ''), { files: [`ci/${f}`] }]),
];
const NAMESPACE = 'ai';
/** The routes the gateway serves its probes on (apps/gateway/src/health/health.controller.ts). */
const LIVENESS_PATH = '/health';
const READINESS_PATH = '/ready';
const REDIS_URL = process.env.TEST_REDIS_URL;

type Labels = Record<string, string>;
const selects = (selector: Labels, labels: Labels = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

function podSpec(m: Manifest): any {
  return m.kind === 'Pod' ? m.spec : m.spec.template.spec;
}
function podLabels(m: Manifest): Labels {
  return m.kind === 'Pod' ? (m.metadata.labels ?? {}) : m.spec.template.metadata.labels;
}
const gatewayDeployment = (r: Rendered) => r.one('Deployment');
const gatewayContainer = (r: Rendered) => podSpec(gatewayDeployment(r)).containers.find((c: any) => c.name === 'gateway');
const redisStatefulSet = (r: Rendered) => r.all('StatefulSet')[0] as Manifest | undefined;

/** A container port number from a Service/probe port, which may be a name. */
function containerPort(container: any, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports.find((p: any) => p.name === port);
  assert.ok(named, `container ${container.name} has no port named ${port}`);
  return named.containerPort;
}

/**
 * The container's environment as the kubelet builds it: secret references become
 * `secret.<name>.<key>` placeholders (URL-safe, as a Redis password must be) and `$(VAR)` references are expanded.
 */
function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    env[e.name] = ref
      ? `secret.${ref.name}.${ref.key}`
      : String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => env[name] ?? m);
  }
  return env;
}

/** What the gateway process would load: the ConfigMap's gateway.yaml with the container's env applied. */
function effectiveConfig(r: Rendered): GatewayConfig {
  const yaml = r.one('ConfigMap', gatewayDeployment(r).metadata.name).data!['gateway.yaml'];
  const mounted = podSpec(gatewayDeployment(r)).volumes.find((v: any) => v.configMap)?.configMap.name;
  assert.equal(mounted, gatewayDeployment(r).metadata.name, 'the pods mount the rendered ConfigMap');
  return parseConfig(parseYaml(yaml), containerEnv(gatewayContainer(r)), 'rendered ConfigMap');
}

/** kubernetes-models class for a manifest. The packages only export ESM through "import"; Node 24 require()s the file. */
function modelFor(m: Manifest): { new (data: unknown): { validate(): void } } {
  const pkg = m.apiVersion.startsWith('monitoring.coreos.com/') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  return require(resolve(REPO_ROOT, 'node_modules', pkg, m.apiVersion, `${m.kind}.js`))[m.kind];
}

describe('Helm chart charts/ai-gateway', { skip: MISSING_TOOLS }, () => {
  for (const [name, values] of VALUE_SETS) {
    describe(name, () => {
      let r: Rendered;
      before(() => {
        r = helmTemplate(values, 'gw', NAMESPACE);
      });

      it('passes helm lint --strict', () => {
        const lint = helmLint(values);
        assert.equal(lint.status, 0, lint.output);
        assert.match(lint.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });

      it('every manifest validates against the Kubernetes API schemas (kubernetes-models)', () => {
        assert.ok(r.manifests.length >= 8, `rendered ${r.manifests.length} manifests`);
        for (const m of r.manifests) {
          const Model = modelFor(m);
          assert.ok(Model, `no schema for ${m.apiVersion} ${m.kind}`);
          assert.doesNotThrow(() => new Model(m).validate(), `${m.kind} ${m.metadata.name}`);
        }
      });

      it('no manifest has an unknown or mistyped field (k8s.io/api strict decoding)', () => {
        const results = kubeStrict(r.text);
        assert.equal(results.length, r.manifests.length);
        for (const res of results) {
          if (res.status === 'unknown-kind') assert.match(res.kind, /^monitoring\.coreos\.com\//, 'only CRDs lack a Go type here');
          else assert.equal(res.status, 'ok', `${res.kind} ${res.name}: ${res.error}`);
        }
      });

      it('probes hit the app routes on the port the gateway listens on', () => {
        const c = gatewayContainer(r);
        const config = effectiveConfig(r);
        assert.equal(config.server.host, '0.0.0.0', 'reachable from the kubelet and Services');
        assert.equal(containerPort(c, 'http'), config.server.port);
        for (const [probe, path] of [
          ['livenessProbe', LIVENESS_PATH],
          ['readinessProbe', READINESS_PATH],
          ['startupProbe', LIVENESS_PATH],
        ]) {
          assert.equal(c[probe].httpGet.path, path, probe);
          assert.equal(containerPort(c, c[probe].httpGet.port), config.server.port, `${probe} port`);
        }
      });

      it('Services and the PodDisruptionBudget select the gateway pods and only them', () => {
        const gatewayLabels = podLabels(gatewayDeployment(r));
        const redisLabels = redisStatefulSet(r) && podLabels(redisStatefulSet(r)!);
        assert.ok(selects(gatewayDeployment(r).spec.selector.matchLabels, gatewayLabels), 'Deployment selector matches its own pods');
        const gatewayServices = r.all('Service').filter((s) => s.spec.clusterIP !== 'None');
        assert.ok(gatewayServices.length >= 1);
        for (const svc of gatewayServices) {
          assert.ok(selects(svc.spec.selector, gatewayLabels), `${svc.metadata.name} selects gateway pods`);
          if (redisLabels) assert.ok(!selects(svc.spec.selector, redisLabels), `${svc.metadata.name} does not select Redis`);
          for (const port of svc.spec.ports)
            assert.equal(containerPort(gatewayContainer(r), port.targetPort), effectiveConfig(r).server.port);
        }
        const clusterIp = r.one('Service', gatewayDeployment(r).metadata.name);
        assert.equal(clusterIp.spec.type, 'ClusterIP');
        assert.equal(clusterIp.spec.ports[0].port, 80);
        const pdb = r.all('PodDisruptionBudget');
        assert.equal(pdb.length, 1);
        assert.ok(selects(pdb[0].spec.selector.matchLabels, gatewayLabels));
        for (const spread of podSpec(gatewayDeployment(r)).topologySpreadConstraints) {
          assert.ok(selects(spread.labelSelector.matchLabels, gatewayLabels), `spread over ${spread.topologyKey} counts gateway pods`);
        }
        assert.ok(
          podSpec(gatewayDeployment(r)).topologySpreadConstraints.some((s: any) => s.topologyKey === 'topology.kubernetes.io/zone'),
        );
      });

      it('the LoadBalancer is external by default and internal through the GKE annotation', () => {
        const lb = r.one('Service', `${gatewayDeployment(r).metadata.name}-lb`);
        assert.equal(lb.spec.type, 'LoadBalancer');
        const internal = lb.metadata.annotations?.['networking.gke.io/load-balancer-type'];
        assert.equal(internal, name === 'internal-lb' ? 'Internal' : undefined);
      });

      it('the HPA targets the Deployment, which then leaves replicas to it', () => {
        const hpas = r.all('HorizontalPodAutoscaler');
        if (name === 'no-autoscaling') {
          assert.equal(hpas.length, 0);
          assert.equal(gatewayDeployment(r).spec.replicas, 3);
          return;
        }
        assert.equal(hpas.length, 1);
        const hpa = hpas[0];
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: gatewayDeployment(r).metadata.name });
        assert.equal(hpa.spec.minReplicas, 2);
        assert.equal(hpa.spec.maxReplicas, 10);
        assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
        assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
        assert.ok(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds > 0);
        assert.equal(gatewayDeployment(r).spec.replicas, undefined, 'a fixed replica count would fight the HPA');
      });

      it('Redis: the gateway reaches the StatefulSet through its headless Service, or the external URL', () => {
        const config = effectiveConfig(r);
        const sts = redisStatefulSet(r);
        if (name === 'external-redis') {
          assert.equal(sts, undefined);
          assert.equal(config.redisUrl, 'rediss://:secret.memorystore-auth.auth-string@10.20.0.5:6378');
          assert.equal(containerEnv(gatewayContainer(r)).NODE_EXTRA_CA_CERTS, '/etc/ai-gateway/redis-ca/server-ca.pem');
          const mount = gatewayContainer(r).volumeMounts.find((v: any) => v.name === 'redis-ca');
          assert.equal(mount.mountPath, '/etc/ai-gateway/redis-ca');
          return;
        }
        assert.ok(sts, 'in-cluster Redis by default');
        assert.equal(sts.spec.template.spec.containers[0].image.split(':')[0], 'redis/redis-stack-server');
        const headless = r.one('Service', sts.spec.serviceName);
        assert.equal(headless.spec.clusterIP, 'None');
        assert.ok(selects(headless.spec.selector, podLabels(sts)));
        assert.ok(!selects(headless.spec.selector, podLabels(gatewayDeployment(r))));
        const url = new URL(config.redisUrl!);
        assert.equal(url.hostname, `${headless.metadata.name}.${NAMESPACE}.svc.cluster.local`);
        const redisContainer = sts.spec.template.spec.containers[0];
        assert.equal(Number(url.port), headless.spec.ports[0].port);
        assert.equal(containerPort(redisContainer, headless.spec.ports[0].targetPort), Number(url.port));
        assert.ok(redisContainer.readinessProbe && redisContainer.livenessProbe, 'Redis has probes');
        const claims = sts.spec.volumeClaimTemplates ?? [];
        if (name === 'no-autoscaling') assert.equal(claims.length, 0, 'persistence off');
        else assert.equal(claims[0]?.spec.resources.requests.storage, '8Gi');
      });

      it('NetworkPolicies: gateway port in; DNS, Redis and HTTPS out; Redis only from the gateway', () => {
        const gatewayLabels = podLabels(gatewayDeployment(r));
        const policy = r.one('NetworkPolicy', gatewayDeployment(r).metadata.name);
        assert.ok(selects(policy.spec.podSelector.matchLabels, gatewayLabels));
        assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
        assert.deepEqual(
          policy.spec.ingress.flatMap((rule: any) => rule.ports.map((p: any) => p.port)),
          [effectiveConfig(r).server.port],
        );
        const egressPorts = (rule: any) => rule.ports.map((p: any) => `${p.port}/${p.protocol}`);
        const egress = policy.spec.egress;
        assert.ok(
          egress.some((rule: any) => !rule.to && egressPorts(rule).includes('53/UDP') && egressPorts(rule).includes('53/TCP')),
          'DNS',
        );
        assert.ok(
          egress.some((rule: any) => !rule.to && egressPorts(rule).includes('443/TCP')),
          'HTTPS to providers',
        );
        const redisUrl = new URL(effectiveConfig(r).redisUrl!);
        const sts = redisStatefulSet(r);
        const redisRule = egress.find((rule: any) => rule.to && egressPorts(rule).includes(`${redisUrl.port}/TCP`));
        assert.ok(redisRule, `egress to Redis port ${redisUrl.port}`);
        if (!sts) {
          assert.equal(redisRule.to[0].ipBlock.cidr, '10.20.0.0/24');
          assert.equal(r.all('NetworkPolicy').length, 1);
          return;
        }
        assert.ok(selects(redisRule.to[0].podSelector.matchLabels, podLabels(sts)), 'egress rule names the Redis pods');
        const redisPolicy = r.one('NetworkPolicy', sts.metadata.name);
        assert.ok(selects(redisPolicy.spec.podSelector.matchLabels, podLabels(sts)));
        assert.ok(!selects(redisPolicy.spec.podSelector.matchLabels, gatewayLabels));
        assert.equal(redisPolicy.spec.ingress.length, 1);
        const [from] = redisPolicy.spec.ingress[0].from;
        assert.ok(selects(from.podSelector.matchLabels, gatewayLabels), 'gateway pods may connect');
        assert.ok(!selects(from.podSelector.matchLabels, podLabels(r.one('Pod'))), 'the helm test pod may not');
        assert.equal(redisPolicy.spec.ingress[0].ports[0].port, containerPort(sts.spec.template.spec.containers[0], 'redis'));
      });

      it('no container runs as root; all are locked down with requests equal to limits', () => {
        const workloads = r.manifests.filter((m) => ['Deployment', 'StatefulSet', 'Pod'].includes(m.kind));
        assert.equal(workloads.length, redisStatefulSet(r) ? 3 : 2);
        for (const w of workloads) {
          const spec = podSpec(w);
          assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
          for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
            const sc = { ...spec.securityContext, ...c.securityContext };
            assert.equal(sc.runAsNonRoot, true, where);
            assert.ok(sc.runAsUser > 0, `${where} has a non-zero numeric runAsUser`);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false, where);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true, where);
            assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], where);
            assert.deepEqual(c.resources.requests, c.resources.limits, `${where}: requests = limits (GKE Autopilot)`);
          }
        }
      });

      it('pods outlive the drain: preStop pause + shutdownGraceMs < terminationGracePeriodSeconds', () => {
        const spec = podSpec(gatewayDeployment(r));
        const pause = gatewayContainer(r).lifecycle.preStop.sleep.seconds;
        assert.ok(pause > 0);
        assert.ok(
          spec.terminationGracePeriodSeconds > pause + effectiveConfig(r).server.shutdownGraceMs / 1000,
          `${spec.terminationGracePeriodSeconds}s vs ${pause}s + ${effectiveConfig(r).server.shutdownGraceMs}ms`,
        );
      });

      it('secrets come from the chart Secret or existingSecret, for the gateway and the test pod', () => {
        const secretName = name === 'existing-secret' ? 'ai-gateway-keys' : gatewayDeployment(r).metadata.name;
        assert.deepEqual(gatewayContainer(r).envFrom, [{ secretRef: { name: secretName } }]);
        const testEnv = r.one('Pod').spec.containers[0].env.find((e: any) => e.name === 'GATEWAY_MASTER_KEY');
        assert.equal(testEnv.valueFrom.secretKeyRef.name, secretName);
        const secrets = r.all('Secret');
        assert.equal(secrets.length, name === 'existing-secret' ? 0 : 1);
        if (secrets.length)
          assert.ok(Buffer.from(secrets[0].data!.GATEWAY_MASTER_KEY, 'base64').toString().length >= 32, 'a generated master key');
      });

      it(
        'the rendered config boots the real gateway: probes answer 200 and the helm test pod passes',
        { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
        async () => {
          const deployment = gatewayDeployment(r);
          const yaml = r.one('ConfigMap', deployment.metadata.name).data!['gateway.yaml'];
          // Loopback instead of the cluster's addresses; everything else as rendered.
          const gateway = await GatewayProcess.start(parseYaml(yaml), { env: { REDIS_URL: REDIS_URL! } });
          try {
            const c = gatewayContainer(r);
            for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
              const res = await fetch(`${gateway.url}${c[probe].httpGet.path}`);
              assert.equal(res.status, 200, probe);
            }
            const testPod = r.one('Pod').spec.containers[0];
            const podEnv = containerEnv(testPod);
            assert.equal(podEnv.GATEWAY_URL, `http://${deployment.metadata.name}.${NAMESPACE}.svc.cluster.local:80`);
            const run = (model: string) =>
              spawnSync(process.execPath, [...testPod.command.slice(1), ...testPod.args], {
                env: { PATH: process.env.PATH, GATEWAY_URL: gateway.url, TEST_MODEL: model },
                encoding: 'utf8',
              });
            assert.equal(testPod.command[0], 'node');
            const ok = run(podEnv.TEST_MODEL);
            assert.equal(ok.status, 0, ok.stdout + ok.stderr);
            assert.match(ok.stdout, /ok \/health\nok chat completion on mock-1/);
            const bad = run('no-such-model');
            assert.equal(bad.status, 1, 'the helm test fails when the model is missing');
            assert.match(bad.stderr, /FAIL chat completion answered 404/);
          } finally {
            await gateway.stop();
          }
        },
      );
    });
  }

  describe('behaviour across values', () => {
    it('the default config is the repository config/gateway.yaml, with host and port set for the pod', () => {
      const r = helmTemplate();
      const rendered = parseYaml(r.one('ConfigMap').data!['gateway.yaml']);
      const repo = parseYaml(readFileSync(resolve(REPO_ROOT, 'config/gateway.yaml'), 'utf8'));
      assert.deepEqual(rendered.models, repo.models);
      assert.deepEqual(rendered.providers, repo.providers);
      assert.deepEqual(rendered.server, { ...repo.server, host: '0.0.0.0', port: 3000 });
    });

    it('values.config replaces lists and merges maps; a config change rolls the pods, a replica change does not', () => {
      const checksum = (r: Rendered) => gatewayDeployment(r).spec.template.metadata.annotations['checksum/config'];
      const base = helmTemplate();
      const custom = helmTemplate({
        set: {
          'config.server.logLevel': 'debug',
          'config.providers[0].name': 'mock',
          'config.providers[0].type': 'mock',
          'config.models[0].name': 'only',
          'config.models[0].deployments[0].provider': 'mock',
          'config.models[0].deployments[0].model': 'm',
          'tests.model': 'only',
        },
      });
      const config = effectiveConfig(custom);
      assert.equal(config.server.logLevel, 'debug');
      assert.equal(config.server.shutdownGraceMs, 30000, 'other server keys kept');
      assert.deepEqual(
        config.models.map((m) => m.name),
        ['only'],
      );
      assert.notEqual(checksum(custom), checksum(base));
      assert.equal(checksum(helmTemplate({ set: { replicaCount: '5', 'autoscaling.enabled': 'false' } })), checksum(base));
    });

    it('the chart README documents every value (or the block it belongs to)', () => {
      const readme = readFileSync(resolve(CHART_DIR, 'README.md'), 'utf8');
      const documented = new Set([...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
      const leaves = (node: unknown, path: string): string[] =>
        node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length
          ? Object.entries(node).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k))
          : [path];
      const values = parseYaml(readFileSync(resolve(CHART_DIR, 'values.yaml'), 'utf8'));
      for (const leaf of leaves(values, '')) {
        const parts = leaf.split('.');
        const covered = parts.some((_, i) => documented.has(parts.slice(0, i + 1).join('.')));
        assert.ok(covered, `${leaf} is not in the README's value table`);
      }
    });

    it('the ServiceMonitor scrapes /metrics through exactly one Service', () => {
      const r = helmTemplate({ set: { 'metrics.serviceMonitor.enabled': 'true' } });
      const monitor = r.one('ServiceMonitor');
      const scraped = r.all('Service').filter((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels));
      assert.equal(scraped.length, 1, 'the LoadBalancer Service would double every series');
      assert.ok(scraped[0].spec.ports.some((p: any) => p.name === monitor.spec.endpoints[0].port));
      assert.equal(monitor.spec.endpoints[0].path, '/metrics');
    });

    it('the values schema and template checks refuse bad values with a clear message', () => {
      const cases: [ValueSet, RegExp][] = [
        [{ set: { containerPort: 'abc' } }, /containerPort/],
        [{ set: { 'securityContext.runAsNonRoot': 'false' } }, /runAsNonRoot/],
        [{ set: { 'podSecurityContext.runAsUser': '0' } }, /runAsUser/],
        [{ set: { replicas: '3' } }, /replicas/],
        [{ set: { 'env.PORT': '8080' } }, /PORT|propertyNames|env/],
        [{ set: { 'externalRedis.url': 'redis://user:pw@host:6379', 'redis.enabled': 'false' } }, /externalRedis/],
        [{ set: { 'externalRedis.url': 'redis://10.0.0.3:6379' } }, /either redis.enabled or externalRedis.url/],
        [{ set: { terminationGracePeriodSeconds: '20' } }, /terminationGracePeriodSeconds \(20\) must exceed/],
      ];
      for (const [values, message] of cases) assert.match(helmTemplateError(values), message, JSON.stringify(values));
    });

    it(
      'the Grafana dashboard only queries metrics the gateway exports',
      { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
      async () => {
        const r = helmTemplate({ set: { 'metrics.grafanaDashboard.enabled': 'true' } });
        const dashboard = JSON.parse(r.one('ConfigMap', 'gw-ai-gateway-dashboard').data!['ai-gateway.json']);
        const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
        // Histogram series (_bucket, _sum, _count) belong to the metric family they are part of.
        // Metric names, not label names (`by (...)` clauses dropped); histogram series (_bucket,
        // _sum, _count) count as the family they belong to.
        const names = (e: string) =>
          e.replace(/\bby \([^)]*\)/g, '').match(/\b(?:gateway|gen_ai|process|nodejs)_[a-z0-9_]+(?=[{[)]|$)/g) ?? [];
        const used = new Set(exprs.flatMap(names).map((m) => m.replace(/_(bucket|sum|count)$/, '')));
        assert.ok(used.has('gateway_requests_total') && used.has('gateway_request_duration_seconds') && used.has('gateway_cost_usd_total'));
        const gateway = await GatewayProcess.start(parseYaml(r.one('ConfigMap', 'gw-ai-gateway').data!['gateway.yaml']), {
          env: { REDIS_URL: REDIS_URL! },
        });
        try {
          await gateway.client().chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'x' }] });
          const exported = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
          for (const metric of used) assert.match(exported, new RegExp(`^# TYPE ${metric} `, 'm'), `${metric} is exported`);
        } finally {
          await gateway.stop();
        }
      },
    );
  });
});
