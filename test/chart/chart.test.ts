import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, scryptSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { GatewayConfig, parseConfig, ServerConfig } from '@gateway/config';
import { FakeKubeApi } from '../support/fake-kube-api';
import { eventually } from '../support/eventually';
import { GatewayProcess } from '../support/gateway';
import { freePort } from '../support/free-port';
import {
  CHART_DIR,
  helmLint,
  helmNotes,
  helmTemplate,
  helmTemplateError,
  helmUpgradeRender,
  kubernetesSchemaDirs,
  kubernetesValidate,
  kubeStrict,
  MISSING_TOOLS,
  REPO_ROOT,
  type Manifest,
  type Rendered,
  type ValueSet,
} from '../support/helm';

/** The one value the defaults lack: the chart never generates a master key. */
const MASTER_KEY = 'sk-test-0123456789abcdef0123456789abcdef';
const DEFAULTS: ValueSet = { set: { 'secrets.masterKey': MASTER_KEY } };
/** The value sets CI renders: the defaults, every file in charts/ai-gateway/ci/, and the GKE production file. */
const VALUE_SETS: [string, ValueSet][] = [
  ['default values', DEFAULTS],
  ...readdirSync(resolve(CHART_DIR, 'ci')).map((f): [string, ValueSet] => [f.replace(/-values\.yaml$/, ''), { files: [`ci/${f}`] }]),
  ['gke', { files: ['values-gke.yaml'] }],
];
/** Kubernetes releases the chart supports (Chart.yaml kubeVersion >=1.30) that kubernetes-validate checks against. */
const KUBERNETES_VERSIONS = ['1.30.0', '1.33.0', '1.35.0', '1.37.0'];
/** Custom resources: no schema in Kubernetes' own OpenAPI documents. */
/** CRDs kube-strict has no Go type for (GKE policies, Managed Prometheus, prometheus-operator); Gateway API it decodes. */
const NO_GO_TYPE = /^(monitoring\.coreos\.com|monitoring\.googleapis\.com|networking\.gke\.io)\//;
const CRD_GROUP = /^(monitoring\.coreos\.com|monitoring\.googleapis\.com|gateway\.networking\.k8s\.io|networking\.gke\.io)\//;
const NAMESPACE = 'ai';
/** The routes the gateway serves its probes on (apps/gateway/src/health/health.controller.ts). */
const LIVENESS_PATH = '/health';
const READINESS_PATH = '/ready';
const REDIS_URL = process.env.TEST_REDIS_URL;
/** GKE's Application Load Balancers keep idle connections to backends this long (fixed by Google). */
const GKE_LB_BACKEND_KEEPALIVE_MS = 600_000;
/** The ports behind Memorystore for Redis Cluster's endpoints that the discovery endpoint sends clients to. */
const MEMORYSTORE_SHARD_PORTS = { port: 11000, endPort: 13047, protocol: 'TCP' };

type Labels = Record<string, string>;

const selects = (selector: Labels, labels: Labels = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * Sprig's derivePassword (the Master Password algorithm: scrypt N=2^15, r=8, p=2, then HMAC-SHA256;
 * the "maximum" template), which the chart's checksum/redis-password is the SHA-256 of.
 */
function derivePassword(counter: number, password: string, user: string, site: string): string {
  const seeded = (text: string) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(text));
    return Buffer.concat([Buffer.from('com.lyndir.masterpassword'), length, Buffer.from(text)]);
  };
  const key = scryptSync(password, seeded(user), 64, { N: 32768, r: 8, p: 2, maxmem: 64 * 1024 * 1024 });
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  const seed = createHmac('sha256', key)
    .update(Buffer.concat([seeded(site), count]))
    .digest();
  const letters = 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz';
  const chars: Record<string, string> = { a: letters, n: '0123456789', o: "@&%?,=[]_:-+*$#!'^~;()/.", x: `${letters}0123456789!@#$%^&*()` };
  const template = ['anoxxxxxxxxxxxxxxxxx', 'axxxxxxxxxxxxxxxxxno'][seed[0] % 2];
  return [...template].map((c, i) => chars[c][seed[i + 1] % chars[c].length]).join('');
}

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

/** kubernetes-models packages by API group (CRDs included); the packages only export ESM through "import", Node 24 require()s the file. */
const MODEL_PACKAGES: [RegExp, string][] = [
  [/^monitoring\.coreos\.com\//, '@kubernetes-models/prometheus-operator'],
  [/^gateway\.networking\.k8s\.io\//, '@kubernetes-models/gateway-api'],
  [/^networking\.gke\.io\//, '@kubernetes-models/gke'],
  [/^monitoring\.googleapis\.com\//, ''], // Managed Prometheus' CRDs are in no package: checked field by field below.
  [/./, 'kubernetes-models'],
];
function modelFor(m: Manifest): { new (data: unknown): { validate(): void } } | undefined {
  const pkg = MODEL_PACKAGES.find(([group]) => group.test(m.apiVersion))![1];
  return pkg ? require(resolve(REPO_ROOT, 'node_modules', pkg, m.apiVersion, `${m.kind}.js`))[m.kind] : undefined;
}
const gatewayServiceName = (r: Rendered) => gatewayDeployment(r).metadata.name;
/** Ports a Service sends to, as container port numbers of the gateway. */
const servicePorts = (r: Rendered, svc: Manifest) => svc.spec.ports.map((p: any) => containerPort(gatewayContainer(r), p.targetPort));

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

      it('every manifest validates against the Kubernetes API schemas of 1.30, 1.33, 1.35 and 1.37 (kubernetes-validate, strict)', () => {
        for (const version of KUBERNETES_VERSIONS) {
          const results = kubernetesValidate(r.text, version);
          assert.equal(results.length, r.manifests.length, `${version}: one verdict per manifest`);
          for (const res of results) {
            if (res.status === 'no-schema')
              assert.ok(
                r.manifests.some((m) => CRD_GROUP.test(m.apiVersion) && m.kind === res.resource),
                res.message,
              );
            else assert.equal(res.status, 'passed', `${version}: ${res.message}`);
          }
        }
      });

      it('every manifest validates against its JSON schema (kubernetes-models; Gateway API and GKE policies too)', () => {
        assert.ok(r.manifests.length >= 8, `rendered ${r.manifests.length} manifests`);
        for (const m of r.manifests) {
          const Model = modelFor(m);
          if (!Model) continue; // PodMonitoring: checked in its own test
          assert.doesNotThrow(() => new Model(m).validate(), `${m.kind} ${m.metadata.name}`);
        }
      });

      it('no manifest has an unknown or mistyped field (k8s.io/api strict decoding)', () => {
        const results = kubeStrict(r.text);
        assert.equal(results.length, r.manifests.length);
        for (const res of results) {
          if (res.status === 'unknown-kind') assert.match(res.kind, NO_GO_TYPE, 'only CRDs whose Go modules are not served lack a Go type');
          else assert.equal(res.status, 'ok', `${res.kind} ${res.name}: ${res.error}`);
        }
      });

      it('probes hit the app routes on the public port; the ops listener has a port of its own on 0.0.0.0', () => {
        const c = gatewayContainer(r);
        const config = effectiveConfig(r);
        assert.equal(config.server.host, '0.0.0.0', 'reachable from the kubelet and Services');
        assert.equal(containerPort(c, 'http'), config.server.port);
        assert.equal(containerPort(c, 'metrics'), config.server.metricsPort);
        assert.equal(config.server.metricsHost, '0.0.0.0', 'reachable by the scrapers the NetworkPolicy lets in');
        assert.notEqual(config.server.metricsPort, config.server.port);
        for (const [probe, path] of [
          ['livenessProbe', LIVENESS_PATH],
          ['readinessProbe', READINESS_PATH],
          ['startupProbe', LIVENESS_PATH],
        ]) {
          assert.equal(c[probe].httpGet.path, path, probe);
          assert.equal(containerPort(c, c[probe].httpGet.port), config.server.port, `${probe} port`);
        }
      });

      it('Services select the gateway pods and only them; none but the -metrics Service reaches the metrics port', () => {
        const gatewayLabels = podLabels(gatewayDeployment(r));
        const redisLabels = redisStatefulSet(r) && podLabels(redisStatefulSet(r)!);
        assert.ok(selects(gatewayDeployment(r).spec.selector.matchLabels, gatewayLabels), 'Deployment selector matches its own pods');
        const gatewayServices = r.all('Service').filter((s) => s.spec.clusterIP !== 'None');
        assert.ok(gatewayServices.length >= 1);
        const { port, metricsPort } = effectiveConfig(r).server;
        for (const svc of gatewayServices) {
          assert.ok(selects(svc.spec.selector, gatewayLabels), `${svc.metadata.name} selects gateway pods`);
          if (redisLabels) assert.ok(!selects(svc.spec.selector, redisLabels), `${svc.metadata.name} does not select Redis`);
          const metricsService = svc.metadata.name === `${gatewayServiceName(r)}-metrics`;
          assert.deepEqual(servicePorts(r, svc), [metricsService ? metricsPort : port], svc.metadata.name);
          if (metricsService) assert.equal(svc.spec.type, 'ClusterIP');
        }
        const clusterIp = r.one('Service', gatewayServiceName(r));
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

      it('private unless asked: a load balancer only when enabled, internal unless made external with source ranges', () => {
        const lbs = r.all('Service').filter((s) => s.spec.type === 'LoadBalancer');
        if (name === 'internal-lb' || name === 'public-lb') {
          assert.equal(lbs.length, 1);
          const internal = lbs[0].metadata.annotations?.['networking.gke.io/load-balancer-type'];
          assert.equal(internal, name === 'internal-lb' ? 'Internal' : undefined);
          assert.ok(lbs[0].spec.loadBalancerSourceRanges.length > 0, 'source ranges set');
        } else assert.equal(lbs.length, 0, 'no load balancer');
        const gateways = r.all('Gateway');
        assert.equal(gateways.length, name === 'gke' ? 1 : 0, 'a public Gateway only in the GKE values');
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
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: gatewayServiceName(r) });
        assert.equal(hpa.spec.minReplicas, 2);
        assert.equal(hpa.spec.maxReplicas, 10);
        assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
        assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
        // autoscaling.extraMetrics come after CPU: in-flight requests per pod, where the values set them.
        assert.deepEqual(
          hpa.spec.metrics.slice(1).map((m: any) => m.pods?.metric.name),
          name === 'inflight-autoscaling' ? ['prometheus.googleapis.com|gateway_inflight_requests|gauge'] : [],
        );
        assert.ok(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds > 0);
        assert.equal(gatewayDeployment(r).spec.replicas, undefined, 'a fixed replica count would fight the HPA');
      });

      it('Redis: the gateway reaches the password-protected StatefulSet through its headless Service, or the external URL', () => {
        const config = effectiveConfig(r);
        const env = containerEnv(gatewayContainer(r));
        const sts = redisStatefulSet(r);
        if (name === 'external-redis') {
          assert.equal(sts, undefined);
          assert.equal(config.redisUrl, 'rediss://:secret.memorystore-auth.auth-string@10.20.0.5:6378');
          assert.equal(config.redis.tlsCaFile, '/etc/ai-gateway/redis-ca/server-ca.pem');
          const mount = gatewayContainer(r).volumeMounts.find((v: any) => v.name === 'redis-ca');
          assert.equal(mount.mountPath, '/etc/ai-gateway/redis-ca');
          assert.equal(config.redis.cluster, false);
          return;
        }
        if (name === 'memorystore-cluster') {
          assert.equal(sts, undefined);
          assert.equal(config.redisUrl, 'rediss://10.30.0.3:6379');
          assert.equal(config.redis.cluster, true);
          assert.equal(config.redis.tlsCaFile, '/etc/ai-gateway/redis-ca/server-ca.pem');
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
        const secretName = name === 'gke' || name === 'existing-secret' ? 'ai-gateway-keys' : gatewayServiceName(r);
        assert.equal(url.password, `secret.${secretName}.REDIS_PASSWORD`, 'the gateway sends the password Redis requires');
        const redisContainer = sts.spec.template.spec.containers[0];
        assert.equal(containerEnv(redisContainer).REDISCLI_AUTH, `secret.${secretName}.REDIS_PASSWORD`);
        assert.match(containerEnv(redisContainer).REDIS_ARGS, /--requirepass secret\.\S+\.REDIS_PASSWORD /);
        assert.equal(env.REDIS_CLUSTER, undefined);
        assert.equal(Number(url.port), headless.spec.ports[0].port);
        assert.equal(containerPort(redisContainer, headless.spec.ports[0].targetPort), Number(url.port));
        assert.deepEqual(redisContainer.readinessProbe.exec.command.slice(0, 2), ['sh', '-c']);
        assert.match(redisContainer.readinessProbe.exec.command[2], /ping \| grep -qx PONG$/, 'ready only on PONG');
        const claims = sts.spec.volumeClaimTemplates ?? [];
        if (name === 'no-autoscaling') assert.equal(claims.length, 0, 'persistence off');
        else assert.equal(claims[0]?.spec.resources.requests.storage, '8Gi');
      });

      it('NetworkPolicies: public port in; metrics port only from scrapers; DNS, Redis, HTTPS and the switched-on extras out', () => {
        const gatewayLabels = podLabels(gatewayDeployment(r));
        const policy = r.one('NetworkPolicy', gatewayServiceName(r));
        const { port, metricsPort } = effectiveConfig(r).server;
        assert.ok(selects(policy.spec.podSelector.matchLabels, gatewayLabels));
        assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
        const [publicRule, metricsRule, ...more] = policy.spec.ingress;
        assert.deepEqual(more, []);
        // Named, so each pod's own port (an upgrade changing the port does not cut off the old pods mid-rollout).
        const gateway = gatewayContainer(r);
        assert.deepEqual(
          publicRule.ports.map((p: any) => [typeof p.port, containerPort(gateway, p.port)]),
          [['string', port]],
        );
        // A self-managed Prometheus (networkPolicy.metricsFrom) in these two.
        const scrapes = r.all('PodMonitoring').length > 0 || name === 'memorystore-cluster' || name === 'internal-lb';
        if (!scrapes) assert.equal(metricsRule, undefined, 'nobody reaches the metrics port');
        else {
          assert.deepEqual(
            metricsRule.ports.map((p: any) => [typeof p.port, containerPort(gateway, p.port)]),
            [['string', metricsPort]],
          );
          assert.ok(metricsRule.from?.length > 0, 'the metrics port is never open to all');
          const namespaces = metricsRule.from.flatMap(
            (peer: any) =>
              peer.namespaceSelector?.matchExpressions?.[0]?.values ?? [
                peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'],
              ],
          );
          assert.deepEqual(namespaces, r.all('PodMonitoring').length > 0 ? ['gke-gmp-system', 'gmp-system'] : ['monitoring']);
        }
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
        const metadata = egress.find((rule: any) => rule.to?.[0].ipBlock?.cidr === '169.254.169.254/32');
        if (name === 'gke') assert.deepEqual(egressPorts(metadata), ['80/TCP'], 'the metadata server for Workload Identity');
        else assert.equal(metadata, undefined);
        const otlp = egress.find((rule: any) => egressPorts(rule).includes('4317/TCP'));
        if (name === 'memorystore-cluster') assert.deepEqual(egressPorts(otlp), ['4317/TCP', '4318/TCP']);
        else assert.equal(otlp, undefined);
        const redisUrl = new URL(effectiveConfig(r).redisUrl!);
        const sts = redisStatefulSet(r);
        const redisRule = egress.find((rule: any) => rule.to && egressPorts(rule).includes(`${redisUrl.port}/TCP`));
        assert.ok(redisRule, `egress to Redis port ${redisUrl.port}`);
        if (!sts) {
          assert.match(redisRule.to[0].ipBlock.cidr, /^10\.(20|30)\.0\.0\/24$/);
          const shardPorts = redisRule.ports.filter((p: any) => p.endPort);
          assert.deepEqual(shardPorts, name === 'memorystore-cluster' ? [MEMORYSTORE_SHARD_PORTS] : [], 'the shards of a Redis Cluster');
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
        assert.equal(containerPort(sts.spec.template.spec.containers[0], redisPolicy.spec.ingress[0].ports[0].port), Number(redisUrl.port));
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
            assert.equal(c.securityContext.capabilities.add, undefined, where);
            assert.deepEqual(c.resources.requests, c.resources.limits, `${where}: requests = limits (GKE Autopilot)`);
          }
        }
      });

      it('pods outlive the drain and a last scrape: preStop pause + not-ready delay + shutdownGraceMs + shutdownScrapeMs < terminationGracePeriodSeconds', () => {
        const spec = podSpec(gatewayDeployment(r));
        const pause = gatewayContainer(r).lifecycle.preStop.sleep.seconds;
        const env = containerEnv(gatewayContainer(r));
        const delayMs = Number(env.SHUTDOWN_DELAY_MS);
        const { shutdownGraceMs, shutdownScrapeMs } = effectiveConfig(r).server;
        assert.equal(Number(env.SHUTDOWN_SCRAPE_MS), shutdownScrapeMs, 'the wait the grace period was derived from');
        const gatewaySeconds = (delayMs + shutdownGraceMs + shutdownScrapeMs) / 1000;
        assert.ok(pause > 0 && delayMs > 0);
        assert.ok(
          spec.terminationGracePeriodSeconds > pause + gatewaySeconds,
          `${spec.terminationGracePeriodSeconds}s vs ${pause}s + ${gatewaySeconds}s`,
        );
        const health = r.all('HealthCheckPolicy')[0]?.spec.default;
        if (health)
          assert.ok(
            delayMs / 1000 >= health.checkIntervalSec * health.unhealthyThreshold,
            'the load balancer sees /ready fail before the pod stops accepting',
          );
      });

      it('secrets come from the chart Secret or existingSecret, for the gateway, Redis and the test pod', () => {
        const external = name === 'existing-secret' || name === 'gke';
        const secretName = external ? 'ai-gateway-keys' : gatewayServiceName(r);
        assert.deepEqual(gatewayContainer(r).envFrom, [{ secretRef: { name: secretName } }]);
        const testEnv = r.one('Pod').spec.containers[0].env.find((e: any) => e.name === 'GATEWAY_MASTER_KEY');
        assert.equal(testEnv.valueFrom.secretKeyRef.name, secretName);
        const secrets = r.all('Secret');
        assert.equal(secrets.length, external ? 0 : 1);
        if (!secrets.length) return;
        const data = Object.fromEntries(Object.entries(secrets[0].data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
        assert.ok(data.GATEWAY_MASTER_KEY.length >= 32, 'the given master key');
        if (redisStatefulSet(r)) assert.match(data.REDIS_PASSWORD, /^[A-Za-z0-9._~-]{16,}$/, 'a URL-safe Redis password');
        else assert.equal(data.REDIS_PASSWORD, undefined);
      });

      it(
        'the rendered config boots the real gateway: probes and GET / answer 200, the ops port serves /metrics, the helm test pod passes',
        { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
        async () => {
          const deployment = gatewayDeployment(r);
          const yaml = r.one('ConfigMap', deployment.metadata.name).data!['gateway.yaml'];
          // Loopback instead of the cluster's addresses; everything else as rendered.
          const gateway = await GatewayProcess.start(parseYaml(yaml), { env: { REDIS_URL: REDIS_URL!, GATEWAY_MASTER_KEY: MASTER_KEY } });
          try {
            const c = gatewayContainer(r);
            for (const probe of ['startupProbe', 'livenessProbe']) {
              const res = await fetch(`${gateway.url}${c[probe].httpGet.path}`);
              assert.equal(res.status, 200, probe);
            }
            // Ready once the offline embedder of the shipped config's semantic cache has loaded its model.
            const ready = () => fetch(`${gateway.url}${c.readinessProbe.httpGet.path}`);
            assert.ok(await eventually(async () => (await ready()).status === 200), 'readinessProbe');
            assert.equal((await fetch(`${gateway.url}/`)).status, 200, 'GET / for L7 load balancer health checks');
            assert.equal((await fetch(`${gateway.url}/metrics`)).status, 404, 'no /metrics on the public port');
            assert.equal((await fetch(`${gateway.opsUrl}/metrics`)).status, 200, '/metrics on the ops port');
            const testPod = r.one('Pod').spec.containers[0];
            const podEnv = containerEnv(testPod);
            assert.equal(podEnv.GATEWAY_URL, `http://${deployment.metadata.name}.${NAMESPACE}.svc.cluster.local:80`);
            const run = (model: string) =>
              spawnSync(process.execPath, [...testPod.command.slice(1), ...testPod.args], {
                env: { PATH: process.env.PATH, GATEWAY_URL: gateway.url, TEST_MODEL: model, GATEWAY_MASTER_KEY: MASTER_KEY },
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
      const r = helmTemplate(DEFAULTS);
      const rendered = parseYaml(r.one('ConfigMap').data!['gateway.yaml']);
      const repo = parseYaml(readFileSync(resolve(REPO_ROOT, 'config/gateway.yaml'), 'utf8'));
      assert.deepEqual(rendered.models, repo.models);
      assert.deepEqual(rendered.providers, repo.providers);
      // The wait for a last scrape covers the chart's monitors' 30 s interval (values.yaml).
      assert.deepEqual(rendered.server, { ...repo.server, host: '0.0.0.0', port: 3000, shutdownScrapeMs: 35000 });
    });

    it('values.config replaces lists and merges maps; a config change rolls the pods, a replica change does not', () => {
      const checksum = (r: Rendered) => gatewayDeployment(r).spec.template.metadata.annotations['checksum/config'];
      const base = helmTemplate(DEFAULTS);
      const custom = helmTemplate({
        set: {
          ...DEFAULTS.set,
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
      assert.equal(checksum(helmTemplate({ set: { ...DEFAULTS.set, replicaCount: '5', 'autoscaling.enabled': 'false' } })), checksum(base));
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

    // Found by an independent check (ops28 D2): the policy carried the pod's grace, which the chart lets exceed an hour.
    it("GKE values: the GCPBackendPolicy's connection draining is the pod's grace period, at most Google Cloud's 3600 s", () => {
      const draining = (set: Record<string, string>) => {
        const r = helmTemplate({ files: ['values-gke.yaml'], set });
        return [
          podSpec(gatewayDeployment(r)).terminationGracePeriodSeconds,
          r.one('GCPBackendPolicy').spec.default.connectionDraining.drainingTimeoutSec,
        ];
      };
      assert.deepEqual(draining({ terminationGracePeriodSeconds: '3600' }), [3600, 3600]);
      assert.deepEqual(draining({ terminationGracePeriodSeconds: '7200' }), [7200, 3600]);
      assert.deepEqual(draining({ 'config.server.shutdownGraceMs': '3600000' }), [3660, 3600]);
    });

    it('GKE values: a TLS Gateway, an HTTPRoute to the public port, a HealthCheckPolicy on /ready, PodMonitoring on the metrics port', () => {
      const r = helmTemplate({ files: ['values-gke.yaml'] });
      const service = r.one('Service', gatewayServiceName(r));
      const gateway = r.one('Gateway');
      assert.equal(gateway.spec.gatewayClassName, 'gke-l7-global-external-managed');
      assert.equal(gateway.metadata.annotations?.['networking.gke.io/certmap'], 'ai-gateway-map', 'TLS from Certificate Manager');
      assert.deepEqual(
        gateway.spec.listeners.map((l: any) => [l.protocol, l.port]),
        [['HTTPS', 443]],
        'HTTPS only',
      );
      assert.deepEqual(gateway.spec.addresses, [{ type: 'NamedAddress', value: 'ai-gateway-ip' }]);
      const route = r.one('HTTPRoute');
      assert.deepEqual(route.spec.parentRefs, [{ name: gateway.metadata.name, sectionName: 'https' }]);
      assert.deepEqual(route.spec.hostnames, ['llm.example.com']);
      const backends = route.spec.rules.flatMap((rule: any) => rule.backendRefs);
      assert.deepEqual(backends, [{ name: service.metadata.name, port: service.spec.ports[0].port }]);
      assert.deepEqual(servicePorts(r, service), [effectiveConfig(r).server.port], 'the route reaches the public port only');
      assert.equal(service.spec.ports[0].targetPort, 'http', "named: each endpoint carries its own pod's port");
      // The whole spec of each GKE policy: their JSON schemas accept unknown fields, so every
      // field name here is checked against the CRD's (@kubernetes-models/gke types).
      const targetRef = { group: '', kind: 'Service', name: service.metadata.name };
      assert.deepEqual(r.one('HealthCheckPolicy').spec, {
        default: {
          checkIntervalSec: 5,
          timeoutSec: 3,
          healthyThreshold: 1,
          unhealthyThreshold: 2,
          config: {
            type: 'HTTP',
            // Each endpoint's own port (the NEG's, from the Service's named targetPort): a rollout that changes
            // containerPort keeps the old pods healthy until they are replaced.
            httpHealthCheck: { portSpecification: 'USE_SERVING_PORT', requestPath: READINESS_PATH },
          },
        },
        targetRef,
      });
      const backend = r.one('GCPBackendPolicy');
      assert.deepEqual(backend.spec, {
        default: {
          timeoutSec: 600,
          connectionDraining: { drainingTimeoutSec: podSpec(gatewayDeployment(r)).terminationGracePeriodSeconds },
        },
        targetRef,
      });
      assert.ok(backend.spec.default.timeoutSec >= 300, 'long streams outlive the 30 s default backend timeout');
      assert.ok(effectiveConfig(r).server.keepAliveTimeoutMs > GKE_LB_BACKEND_KEEPALIVE_MS, 'no 502s from a race on idle connections');
      // PodMonitoring (monitoring.googleapis.com/v1): no published JSON schema offline, so its fields one by one.
      const monitoring = r.one('PodMonitoring');
      assert.equal(monitoring.apiVersion, 'monitoring.googleapis.com/v1');
      assert.deepEqual(Object.keys(monitoring.spec).sort(), ['endpoints', 'selector']);
      assert.ok(selects(monitoring.spec.selector.matchLabels, podLabels(gatewayDeployment(r))));
      assert.deepEqual(monitoring.spec.endpoints, [{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      assert.equal(containerPort(gatewayContainer(r), 'metrics'), effectiveConfig(r).server.metricsPort);
    });

    it('Gateway API: TLS from Secrets, or a route attached to a Gateway the release does not own', () => {
      const withSecret = helmTemplate({
        set: {
          ...DEFAULTS.set,
          'gatewayApi.enabled': 'true',
          'gatewayApi.tls.secretNames[0]': 'llm-tls',
          'gatewayApi.hostnames[0]': 'a.example.com',
        },
      });
      const listener = withSecret.one('Gateway').spec.listeners[0];
      assert.deepEqual(listener.tls, { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', group: '', name: 'llm-tls' }] });
      assert.equal(listener.hostname, 'a.example.com');
      const shared = helmTemplate({
        set: {
          ...DEFAULTS.set,
          'gatewayApi.enabled': 'true',
          'gatewayApi.createGateway': 'false',
          'gatewayApi.parentRefs[0].name': 'shared',
          'gatewayApi.parentRefs[0].namespace': 'infra',
        },
      });
      assert.equal(shared.all('Gateway').length, 0);
      assert.deepEqual(shared.one('HTTPRoute').spec.parentRefs, [{ name: 'shared', namespace: 'infra' }]);
      assert.equal(shared.all('HealthCheckPolicy').length, 1);
    });

    it('ServiceMonitor only where its CRD exists, through a metrics-only Service, scraped by the peers metricsFrom admits', () => {
      const prometheus = { podSelector: { matchLabels: { app: 'prometheus' } } };
      const monitorSet = { ...DEFAULTS.set, 'metrics.serviceMonitor.enabled': 'true' };
      const asked = { set: { ...monitorSet, 'networkPolicy.metricsFrom[0].podSelector.matchLabels.app': 'prometheus' } };
      assert.equal(helmTemplate(asked).all('ServiceMonitor').length, 0, 'no CRD: nothing that would fail the install');
      const r = helmTemplate({ ...asked, apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'] });
      const metricsRule = r
        .one('NetworkPolicy', gatewayServiceName(r))
        .spec.ingress.find((rule: any) =>
          rule.ports.some((p: any) => containerPort(gatewayContainer(r), p.port) === effectiveConfig(r).server.metricsPort),
        );
      assert.deepEqual(metricsRule?.from, [prometheus], 'the NetworkPolicy lets the scraper in');
      // Without metricsFrom the NetworkPolicy would drop every scrape: refused, unless there is no NetworkPolicy.
      assert.match(
        helmTemplateError({ set: monitorSet }),
        /metrics\.serviceMonitor needs networkPolicy\.metricsFrom .* every scrape would time out/,
      );
      const noPolicy = helmTemplate({
        set: { ...monitorSet, 'networkPolicy.enabled': 'false' },
        apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'],
      });
      assert.equal(noPolicy.all('ServiceMonitor').length, 1, 'no NetworkPolicy: nothing to admit the scraper through');
      const monitor = r.one('ServiceMonitor');
      const scraped = r.all('Service').filter((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels));
      assert.deepEqual(
        scraped.map((s) => s.metadata.name),
        [`${gatewayServiceName(r)}-metrics`],
      );
      assert.deepEqual(servicePorts(r, scraped[0]), [effectiveConfig(r).server.metricsPort]);
      assert.equal(monitor.spec.endpoints[0].port, scraped[0].spec.ports[0].name);
      assert.equal(monitor.spec.endpoints[0].path, '/metrics');
    });

    it('stable secrets: two renders are byte-identical, the checksum follows the inputs, nothing is generated', () => {
      const first = helmTemplate(DEFAULTS);
      const second = helmTemplate(DEFAULTS);
      assert.equal(first.text, second.text, 'byte-identical renders');
      const checksum = (r: Rendered) => gatewayDeployment(r).spec.template.metadata.annotations['checksum/secret'];
      const otherKey = helmTemplate({ set: { 'secrets.masterKey': `${MASTER_KEY}-rotated` } });
      assert.notEqual(checksum(otherKey), checksum(first), 'a new key rolls the pods');
      const secret = first.one('Secret');
      assert.equal(Buffer.from(secret.data!.GATEWAY_MASTER_KEY, 'base64').toString(), MASTER_KEY);
      assert.match(helmTemplateError({}), /secrets\.masterKey or secrets\.existingSecret is required/);
      const managed = helmTemplate({ files: ['ci/existing-secret-values.yaml'] });
      assert.equal(gatewayDeployment(managed).spec.template.metadata.annotations['checksum/secret'], undefined);
    });

    it('a new Redis password restarts Redis with the gateway pods; other Secret changes leave Redis running', () => {
      const annotation = (r: Rendered) => redisStatefulSet(r)!.spec.template.metadata.annotations?.['checksum/redis-password'];
      const password = (r: Rendered) => Buffer.from(r.one('Secret').data!.REDIS_PASSWORD, 'base64').toString();
      const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
      const base = helmTemplate(DEFAULTS);
      const changes: Record<string, string>[] = [
        // redis.password empty: the password is derived from the master key, and changes with it.
        { 'secrets.masterKey': `${MASTER_KEY}-rotated` },
        { 'redis.password': 'another-redis-password' },
      ];
      for (const change of changes) {
        const changed = helmTemplate({ set: { ...DEFAULTS.set, ...change } });
        assert.notEqual(password(changed), password(base), JSON.stringify(change));
        // redis-server reads --requirepass only at start: an unchanged pod template would keep the old password.
        assert.notEqual(annotation(changed), annotation(base), JSON.stringify(change));
      }
      const providerKey = helmTemplate({ set: { ...DEFAULTS.set, 'secrets.providerKeys.OPENAI_API_KEY': 'sk-provider' } });
      assert.deepEqual(redisStatefulSet(providerKey)!.spec.template, redisStatefulSet(base)!.spec.template, 'Redis keeps running');
      // Found by an independent check: the master key salted the checksum, so rotating it with a fixed
      // redis.password restarted Redis though its password had not changed.
      const fixed = { ...DEFAULTS.set, 'redis.password': 'summer2026summer2026' };
      const rotated = helmTemplate({ set: { ...fixed, 'secrets.masterKey': `${MASTER_KEY}-rotated` } });
      const chosen = helmTemplate({ set: fixed });
      assert.equal(password(rotated), password(chosen));
      assert.deepEqual(
        redisStatefulSet(rotated)!.spec.template,
        redisStatefulSet(chosen)!.spec.template,
        'a master-key rotation leaves Redis running',
      );
      // Readable by anyone who can get pods: scrypt of the password, salted with the release, not a fast hash.
      assert.equal(
        annotation(chosen),
        sha256(derivePassword(1, 'summer2026summer2026', `${NAMESPACE}/gw-ai-gateway-redis`, 'checksum/redis-password')),
      );
      assert.notEqual(annotation(chosen), sha256('summer2026summer2026'));
      const elsewhere = helmTemplate({ set: fixed }, 'gw', 'other');
      assert.notEqual(annotation(elsewhere), annotation(chosen), 'salted per release: no table of guesses serves two releases');
      const managed = helmTemplate({ files: ['ci/existing-secret-values.yaml'] });
      assert.equal(annotation(managed), undefined, "an existingSecret's value is not the chart's to see (README: restart Redis)");
    });

    // Found by an independent check: the gateway's pod template carried helm.sh/chart, and its checksums hashed
    // the ConfigMap and the Secret with their labels (helm.sh/chart too), so a chart-only release rolled every pod.
    it('a release of the chart alone (the same values and appVersion) changes no pod template, only the objects` helm.sh/chart', () => {
      const dir = mkdtempSync(join(tmpdir(), 'chart-next-'));
      try {
        const next = join(dir, 'ai-gateway');
        cpSync(CHART_DIR, next, { recursive: true, dereference: true });
        const chartYaml = join(next, 'Chart.yaml');
        writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, 'version: 99.0.0'));
        for (const [, values] of VALUE_SETS) {
          const current = helmTemplate(values);
          const released = helmTemplate(values, 'gw', NAMESPACE, next);
          const withPods = current.manifests.filter((m) => m.spec?.template);
          assert.ok(withPods.some((m) => m.kind === 'Deployment'));
          for (const m of withPods) {
            const other = released.one(m.kind, m.metadata.name);
            assert.deepEqual(other.spec.template, m.spec.template, `${m.kind} ${m.metadata.name}: the same pod template`);
          }
          // The objects still name the release: the Deployment, its ConfigMap and Secret, the Services…
          assert.equal(gatewayDeployment(released).metadata.labels!['helm.sh/chart'], 'ai-gateway-99.0.0');
          for (const m of released.manifests.filter((m) => m.metadata.labels?.['helm.sh/chart']))
            assert.equal(m.metadata.labels!['helm.sh/chart'], 'ai-gateway-99.0.0', `${m.kind} ${m.metadata.name}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // Found by an independent check: the Redis pod template carried helm.sh/chart and the gateway's appVersion,
    // so every chart release restarted the single Redis pod (caches, rate windows and budgets in outage mode).
    it('a new chart release leaves the Redis pod running: no release label on its template, the same immutable selector', () => {
      const dir = mkdtempSync(join(tmpdir(), 'chart-next-'));
      try {
        const next = join(dir, 'ai-gateway');
        cpSync(CHART_DIR, next, { recursive: true, dereference: true });
        const chartYaml = join(next, 'Chart.yaml');
        const bumped = readFileSync(chartYaml, 'utf8')
          .replace(/^version: .*$/m, 'version: 99.0.0')
          .replace(/^appVersion: .*$/m, 'appVersion: "99.0.0"');
        writeFileSync(chartYaml, bumped);
        // The gateway pinned by digest: only the chart's release changes.
        const values = { set: { ...DEFAULTS.set, 'image.digest': `sha256:${'ab'.repeat(32)}` } };
        const current = helmTemplate(values);
        const released = helmTemplate(values, 'gw', NAMESPACE, next);
        assert.equal(
          redisStatefulSet(released)!.metadata.labels!['helm.sh/chart'],
          'ai-gateway-99.0.0',
          'the release is on the StatefulSet',
        );
        assert.deepEqual(redisStatefulSet(released)!.spec.template, redisStatefulSet(current)!.spec.template);
        const redisTag = parseYaml(readFileSync(resolve(CHART_DIR, 'values.yaml'), 'utf8')).redis.image.tag;
        assert.equal(podLabels(redisStatefulSet(current)!)['app.kubernetes.io/version'], redisTag, "Redis' version, not the gateway's");
        // A StatefulSet's selector is immutable: the one every release so far has created (0.2.0 included).
        const selector = {
          'app.kubernetes.io/name': 'ai-gateway',
          'app.kubernetes.io/instance': 'gw',
          'app.kubernetes.io/component': 'redis',
        };
        for (const r of [current, released]) {
          assert.deepEqual(redisStatefulSet(r)!.spec.selector, { matchLabels: selector });
          assert.ok(selects(selector, podLabels(redisStatefulSet(r)!)));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("with gatewayApi the gateway's keep-alive outlasts the load balancer's 600 s; an explicit longer one is kept", () => {
      const keepAlive = (values: ValueSet) => effectiveConfig(helmTemplate(values)).server.keepAliveTimeoutMs;
      const gatewayApi = { ...DEFAULTS.set, 'gatewayApi.enabled': 'true', 'gatewayApi.tls.certificateMap': 'm' };
      assert.ok(keepAlive({ set: gatewayApi }) > GKE_LB_BACKEND_KEEPALIVE_MS, 'the load balancer closes idle connections, not the gateway');
      assert.equal(keepAlive({ set: { ...gatewayApi, 'config.server.keepAliveTimeoutMs': '900000' } }), 900000);
      assert.equal(keepAlive(DEFAULTS), 72000, "without a load balancer in front, the gateway's own default");
    });

    it('every object name stays valid with the longest fullnameOverride and release name the chart accepts', () => {
      const everything = {
        ...DEFAULTS.set,
        'metrics.serviceMonitor.enabled': 'true',
        'networkPolicy.metricsFrom[0].podSelector.matchLabels.app': 'prometheus',
        'metrics.grafanaDashboard.enabled': 'true',
        'loadBalancer.enabled': 'true',
      };
      const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
      const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
      const renders = [
        helmTemplate({
          set: { ...everything, fullnameOverride: 'f'.repeat(57) },
          apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'],
        }),
        // Helm's longest release name: 53 characters.
        helmTemplate({ set: everything, apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'] }, 'r'.repeat(53), NAMESPACE),
      ];
      for (const r of renders) {
        for (const m of r.manifests) {
          const { name } = m.metadata;
          const where = `${m.kind} ${name} (${name.length})`;
          if (m.kind === 'Service') assert.ok(name.length <= 63 && DNS_LABEL.test(name), `${where}: a DNS label`);
          else assert.ok(name.length <= 253 && DNS_SUBDOMAIN.test(name), `${where}: a DNS subdomain`);
          // Its pods carry controller-revision-hash=<name>-<hash of up to 10 characters>, a label value (63 at most).
          if (m.kind === 'StatefulSet') assert.ok(`${name}-0123456789`.length <= 63, `${where}: its pods' revision label`);
          const labels = { ...m.metadata.labels, ...(m.spec?.template?.metadata.labels ?? {}) };
          for (const [key, value] of Object.entries(labels)) assert.ok(String(value).length <= 63, `${where}: label ${key}`);
        }
      }
    });

    it('docs/deploy-gke.md: both build paths of step 3 set the DIGEST that steps 8 and 11 deploy', () => {
      const doc = readFileSync(resolve(REPO_ROOT, 'docs/deploy-gke.md'), 'utf8');
      const step = (n: number) => doc.split(/^## /m).find((section) => section.startsWith(`${n}. `))!;
      const shellBlocks = (text: string) => [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
      const builds = shellBlocks(step(3)).filter((block) => /gcloud builds submit|docker push/.test(block));
      assert.equal(builds.length, 2, 'Cloud Build and a local Docker');
      for (const block of builds)
        assert.match(block, /^export DIGEST=\$\(gcloud artifacts docker images describe \$IMAGE:\$VERSION /m, block);
      // An empty image.digest falls back to the tag of the chart's appVersion, which nobody pushed.
      const deployed = [8, 11].map((n) => [...step(n).matchAll(/image\.digest=\$(\w+)/g)].map((m) => m[1]));
      assert.deepEqual(deployed, [['DIGEST'], ['DIGEST']]);
    });

    // Found by an independent check: the step named `helm rollback`, which re-applies the revision's stored
    // replica count (Helm's three-way patch) and so can cut an HPA's pods; an upgrade renders the live count.
    it("docs/deploy-gke.md: step 11 goes back with an upgrade to the earlier revision's values, not helm rollback's stored replica count", () => {
      const doc = readFileSync(resolve(REPO_ROOT, 'docs/deploy-gke.md'), 'utf8');
      const step = doc.split(/^## /m).find((section) => section.startsWith('11. '))!;
      const commands = [...step.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('');
      assert.doesNotMatch(commands, /^helm rollback/m);
      assert.match(commands, /^helm get values gw -n \$NAMESPACE --revision \$REVISION -o yaml > previous-values\.yaml$/m);
      assert.match(commands, /^helm upgrade gw charts\/ai-gateway -n \$NAMESPACE -f previous-values\.yaml /m);
      assert.match(step, /helm rollback.*replica/s, 'what helm rollback would do is said');
    });

    // Found by an independent check: an internal Application Load Balancer (gke-l7-rilb) proxies from the
    // region's proxy-only subnet, which an ingressFrom list naming only Google's front ends shuts out.
    it('an ingressFrom list is documented to need the proxy-only subnet behind a regional Gateway (gke-l7-rilb)', () => {
      const readme = readFileSync(resolve(CHART_DIR, 'README.md'), 'utf8');
      const row = readme.split('\n').find((line) => line.startsWith('| `networkPolicy.ingressFrom` |'))!;
      assert.match(row, /gke-l7-rilb.*proxy-only subnet/);
      const values = readFileSync(resolve(CHART_DIR, 'values.yaml'), 'utf8');
      assert.match(values.slice(0, values.indexOf('  ingressFrom:')), /proxy-only subnet[^\n]*\n(\s*#[^\n]*\n)*$/);
      assert.match(readFileSync(resolve(REPO_ROOT, 'docs/deploy-gke.md'), 'utf8'), /gke-l7-rilb[^.]*proxy-only subnet/);
    });

    // Found by an independent check: with one pod the PodDisruptionBudget (maxUnavailable 1) lets every node
    // upgrade evict it, and nothing said so.
    it('NOTES warn when the gateway can run as one pod: no PodDisruptionBudget keeps a single pod up through node upgrades', () => {
      const warning = /WARNING: the gateway can run as a single pod/;
      assert.match(helmNotes({ set: { ...DEFAULTS.set, 'autoscaling.enabled': 'false', replicaCount: '1' } }), warning);
      assert.match(helmNotes({ set: { ...DEFAULTS.set, 'autoscaling.minReplicas': '1' } }), warning);
      assert.doesNotMatch(helmNotes(DEFAULTS), warning);
      assert.doesNotMatch(helmNotes({ set: { ...DEFAULTS.set, 'autoscaling.enabled': 'false', replicaCount: '2' } }), warning);
    });

    // Found by an independent check: a budget of 2 (or 100%) over 2 pods was accepted without a word.
    it('NOTES warn when podDisruptionBudget.maxUnavailable lets every pod go at once (a percentage rounded up)', () => {
      const warning = /WARNING: podDisruptionBudget.maxUnavailable \((2|100%|60%)\) lets every gateway pod \(autoscaling.minReplicas=2\)/;
      for (const maxUnavailable of ['2', '100%', '60%'])
        assert.match(
          helmNotes({ set: { ...DEFAULTS.set, 'podDisruptionBudget.maxUnavailable': maxUnavailable } }),
          warning,
          maxUnavailable,
        );
      const quiet: Record<string, string>[] = [
        {},
        { 'podDisruptionBudget.maxUnavailable': '50%' },
        { 'autoscaling.enabled': 'false', replicaCount: '3', 'podDisruptionBudget.maxUnavailable': '2' },
        { 'podDisruptionBudget.enabled': 'false', 'podDisruptionBudget.maxUnavailable': '5' },
      ];
      for (const set of quiet)
        assert.doesNotMatch(helmNotes({ set: { ...DEFAULTS.set, ...set } }), /WARNING: podDisruptionBudget/, JSON.stringify(set));
    });

    // Found by an independent check: Autopilot gives a preempted Spot Pod at most 25 s, and the derived 55 s said nothing of it.
    it('NOTES warn when the gateway asks for Spot capacity with a grace longer than preemption leaves, and say what fits', () => {
      const spot = { 'nodeSelector.cloud\\.google\\.com/gke-spot': 'true' };
      const autopilot = { ...DEFAULTS.set, autopilot: 'true' };
      assert.match(
        helmNotes({ set: autopilot, setString: spot }),
        /WARNING: the gateway pods ask for Spot capacity .* terminationGracePeriodSeconds=90, but a\npreempted Spot Pod is killed 25 s after[^]*terminationGracePeriodSeconds=25 and config.server.shutdownGraceMs at most 9000/,
      );
      const affinity = 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]';
      const standard = { ...DEFAULTS.set, [`${affinity}.key`]: 'cloud.google.com/gke-spot', [`${affinity}.operator`]: 'In' };
      assert.match(
        helmNotes({ set: standard, setString: { [`${affinity}.values[0]`]: 'true' } }),
        /killed 15 s after it starts stopping \(GKE Standard's default[^]*leave no drain within it/,
      );
      const fits = { ...autopilot, terminationGracePeriodSeconds: '25', 'config.server.shutdownGraceMs': '9000' };
      assert.doesNotMatch(helmNotes({ set: fits, setString: spot }), /Spot/);
      assert.doesNotMatch(helmNotes({ set: autopilot }), /Spot/);
    });

    // Found by an independent check: streams may run 600 s through the load balancer, but a stopping pod drains 30 s.
    it('NOTES say how long a stream survives a rollout or scale-down behind the Gateway, and point at the README section', () => {
      const note = /NOTE: streams may run 600 s [^]*drains for config.server.shutdownGraceMs \(30000 ms\)[^]*\(90 s now\) follows it/s;
      assert.match(helmNotes({ files: ['values-gke.yaml'] }), note);
      const long = helmNotes({ files: ['values-gke.yaml'], set: { 'config.server.shutdownGraceMs': '600000' } });
      assert.doesNotMatch(long, /NOTE: streams/);
      assert.doesNotMatch(helmNotes(DEFAULTS), /NOTE: streams/, 'no load balancer timeout to compare with');
      const section = /"([^"]+)"\)\.\n/.exec(helmNotes({ files: ['values-gke.yaml'] }).split('NOTE: streams')[1])![1];
      assert.match(readFileSync(resolve(CHART_DIR, 'README.md'), 'utf8'), new RegExp(`^#+ ${section}$`, 'm'));
    });

    // Found by an independent check: with a shared Gateway NOTES said to watch a Gateway the release never created,
    // and the curl asked for mock-1 whatever config.models served (404).
    it('NOTES: a shared Gateway is watched through the route, and the curl asks for tests.model, which config.models serves', () => {
      const shared = {
        ...DEFAULTS.set,
        'gatewayApi.enabled': 'true',
        'gatewayApi.createGateway': 'false',
        'gatewayApi.parentRefs[0].name': 'shared',
        'gatewayApi.parentRefs[0].namespace': 'infra',
        'gatewayApi.hostnames[0]': 'llm.example.com',
      };
      const notes = helmNotes({ set: shared });
      assert.doesNotMatch(notes, /kubectl get gateway/);
      assert.match(notes, /shared Gateway infra\/shared \(gatewayApi.parentRefs\)/);
      const route = helmTemplate({ set: shared }).one('HTTPRoute');
      assert.match(notes, new RegExp(`kubectl get httproute ${route.metadata.name} -n ${NAMESPACE} `));
      assert.match(helmNotes({ files: ['values-gke.yaml'] }), /kubectl get gateway gw-ai-gateway -n ai -w/, 'a Gateway of its own');
      const curlModel = (n: string) => JSON.parse(/-d '(\{"model".*\})'/.exec(n)![1]).model;
      assert.equal(curlModel(helmNotes(DEFAULTS)), 'mock-1');
      const offline = {
        ...DEFAULTS.set,
        'config.models[0].name': 'offline',
        'config.models[0].deployments[0].provider': 'mock',
        'config.models[0].deployments[0].model': 'offline-1',
        'tests.model': 'offline',
      };
      assert.equal(curlModel(helmNotes({ set: offline })), 'offline');
      assert.deepEqual(
        effectiveConfig(helmTemplate({ set: offline })).models.map((m) => m.name),
        ['offline'],
        'the model asked for is the one served',
      );
    });

    // Found by an independent check: embedder minilm rendered, and the pods ran with semantic caching off.
    it('config.cache.semantic.embedder=minilm is refused: the image has neither onnxruntime-node nor the model files', () => {
      const minilm = { ...DEFAULTS.set, 'config.cache.semantic.embedder': 'minilm' };
      assert.match(helmTemplateError({ set: minilm }), /embedder=minilm .* the gateway image does not have .* Use embedder: use/);
      // The Dockerfile is why: production dependencies only, and onnxruntime-node is a dev dependency.
      const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8'));
      assert.ok(pkg.devDependencies['onnxruntime-node'] && !pkg.dependencies['onnxruntime-node']);
      assert.match(readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8'), /npm ci [^\n]*--omit=dev/);
      // Not used, so not refused: semantic caching off, or an embedding model through a provider.
      helmTemplate({ set: { ...minilm, 'config.cache.semantic.enabled': 'false' } });
      helmTemplate({ set: { ...minilm, 'config.cache.semantic.embeddingModel': 'mock-embedding' } });
    });

    // Found by an independent check: these rendered a key twice, which Kubernetes' decoder refuses at install.
    it('topologySpread items and dashboard / ServiceMonitor labels naming what the chart sets are refused, saying which', () => {
      const spread = {
        ...DEFAULTS.set,
        'topologySpread[0].topologyKey': 'topology.kubernetes.io/zone',
        'topologySpread[0].maxSkew': '1',
        'topologySpread[0].whenUnsatisfiable': 'ScheduleAnyway',
      };
      assert.match(
        helmTemplateError({ set: { ...spread, 'topologySpread[0].matchLabelKeys[0]': 'app.kubernetes.io/version' } }),
        /topologySpread\[0\]\.matchLabelKeys is set by the chart/,
      );
      assert.match(
        helmTemplateError({ set: { ...spread, 'topologySpread[0].labelSelector.matchLabels.team': 'a' } }),
        /topologySpread\[0\]\.labelSelector is set by the chart/,
      );
      assert.match(helmTemplateError({ set: { ...spread, 'topologySpread[0].bogusField': '1' } }), /'bogusField' not allowed/);
      // Every other field of a TopologySpreadConstraint (the schema names all of Kubernetes') renders once.
      const fields = {
        'topologySpread[0].minDomains': '2',
        'topologySpread[0].nodeAffinityPolicy': 'Honor',
        'topologySpread[0].nodeTaintsPolicy': 'Ignore',
      };
      const r = helmTemplate({ set: { ...spread, ...fields } });
      assert.equal(podSpec(gatewayDeployment(r)).topologySpreadConstraints[0].minDomains, 2);
      for (const res of kubeStrict(r.text)) assert.equal(res.status, 'ok', `${res.kind} ${res.name}: ${res.error}`);
      const items = JSON.parse(readFileSync(resolve(CHART_DIR, 'values.schema.json'), 'utf8')).properties.topologySpread.items;
      for (const { dir } of kubernetesSchemaDirs()) {
        const kubernetes = JSON.parse(readFileSync(join(dir, 'topologyspreadconstraint-v1.json'), 'utf8'));
        assert.deepEqual(Object.keys(items.properties).sort(), Object.keys(kubernetes.properties).sort(), dir);
      }

      const dashboard = { ...DEFAULTS.set, 'metrics.grafanaDashboard.enabled': 'true' };
      const monitor = {
        ...DEFAULTS.set,
        'metrics.serviceMonitor.enabled': 'true',
        'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.x': 'y',
      };
      const apiVersions = ['monitoring.coreos.com/v1/ServiceMonitor'];
      for (const key of Object.keys(helmTemplate({ set: dashboard }).one('ConfigMap', 'gw-ai-gateway-dashboard').metadata.labels!)) {
        if (key === 'grafana_dashboard') continue; // the chart's default value, not a label of its own
        const escaped = key.replace(/\./g, '\\.');
        assert.match(
          helmTemplateError({ set: { ...dashboard, [`metrics.grafanaDashboard.labels.${escaped}`]: 'x' } }),
          new RegExp(`metrics.grafanaDashboard.labels.${key} is set by the chart`),
        );
        assert.match(
          helmTemplateError({ set: { ...monitor, [`metrics.serviceMonitor.labels.${escaped}`]: 'x' }, apiVersions }),
          new RegExp(`metrics.serviceMonitor.labels.${key} is set by the chart`),
        );
      }
      const own = helmTemplate({ set: { ...monitor, 'metrics.serviceMonitor.labels.release': 'prom' }, apiVersions });
      assert.equal(own.one('ServiceMonitor').metadata.labels!.release, 'prom');
      // No key twice (kube-strict has no Go type for a ServiceMonitor; the yaml parser refuses duplicates too).
      assert.deepEqual(
        parseAllDocuments(own.text).flatMap((d) => d.errors.map((e) => e.message)),
        [],
      );
    });

    // Found by an independent check: with several seed nodes only the first one's port was opened.
    it("the NetworkPolicy opens every external Redis seed node's port, once each", () => {
      const cluster = { 'redis.enabled': 'false', 'externalRedis.cluster': 'true', 'externalRedis.cidr': '10.0.0.0/24' };
      const seeds = 'redis://10.0.0.2:6379\\,redis://10.0.0.3:6380\\,redis://10.0.0.4:6379\\,redis://10.0.0.5';
      const r = helmTemplate({ set: { ...DEFAULTS.set, ...cluster, 'externalRedis.url': seeds } });
      const rule = r.one('NetworkPolicy', gatewayServiceName(r)).spec.egress.find((e: any) => e.to?.[0].ipBlock?.cidr === '10.0.0.0/24');
      assert.deepEqual(
        rule.ports.filter((p: any) => !p.endPort).map((p: any) => p.port),
        [6379, 6380],
      );
    });

    it('Redis skips the recursive chown of its volume when it is already right; the helm test pod asks for Autopilot minimums', () => {
      const r = helmTemplate(DEFAULTS);
      assert.equal(podSpec(redisStatefulSet(r)!).securityContext.fsGroupChangePolicy, 'OnRootMismatch');
      // GKE Autopilot's general-purpose minimums without bursting: 250m CPU, 512 MiB (below them it raises the requests).
      const requests = r.one('Pod').spec.containers[0].resources.requests;
      assert.deepEqual([requests.cpu, requests.memory], ['250m', '512Mi']);
    });

    // Found by an independent check: the security contexts were open (`runAsUsr`, `readOnlyRootFileSystem` passed).
    it("the values schema's security contexts name exactly the Kubernetes fields (1.30 to the newest kubernetes-validate has), closed at every level", () => {
      type Node = { $ref?: string; properties?: Record<string, Node>; items?: Node; additionalProperties?: unknown };
      /** Property names of each object under `node`, by path; `closed` checks additionalProperties: false. */
      const shape = (node: Node, deref: (ref: string) => Node, closed: boolean, path = '', out = new Map<string, Set<string>>()) => {
        const resolved = node.$ref ? deref(node.$ref) : node;
        if (!resolved.properties) return out;
        if (closed) assert.equal(resolved.additionalProperties, false, `${path || '/'} is closed`);
        const names = out.get(path) ?? new Set<string>();
        out.set(path, names);
        for (const [name, child] of Object.entries(resolved.properties)) {
          names.add(name);
          shape(child.items ?? child, deref, closed, `${path}.${name}${child.items ? '[]' : ''}`, out);
        }
        return out;
      };
      const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
      const versions = kubernetesSchemaDirs().filter(({ version }) => Number(version.split('.')[1]) >= 30);
      assert.ok(versions.some(({ version }) => version === '1.30.0') && versions.length >= 2, versions.map((v) => v.version).join());
      const values = JSON.parse(readFileSync(resolve(CHART_DIR, 'values.schema.json'), 'utf8'));
      const chartRef = (ref: string) => values.definitions[ref.replace('#/definitions/', '')];
      for (const [kind, chartNodes] of [
        ['podsecuritycontext', [values.properties.podSecurityContext, values.properties.redis.properties.podSecurityContext]],
        ['securitycontext', [values.properties.securityContext, values.properties.redis.properties.securityContext]],
      ] as const) {
        const kubernetes = new Map<string, Set<string>>();
        for (const { dir } of versions) {
          const defs = JSON.parse(readFileSync(join(dir, '_definitions.json'), 'utf8')).$defs;
          const root = JSON.parse(readFileSync(join(dir, `${kind}-v1.json`), 'utf8'));
          shape(root, (ref) => defs[ref.split('#/$defs/')[1]], false, '', kubernetes);
        }
        for (const node of chartNodes) assert.deepEqual(sorted(shape(node, chartRef, true)), sorted(kubernetes), kind);
      }
    });

    it('autopilot: requests within 1-6.5 GiB per vCPU render; off, or on a compute class (ratios of its own), the ratio is not checked', () => {
      const autopilot = { ...DEFAULTS.set, autopilot: 'true' };
      const memory = (q: string) => ({ 'resources.requests.memory': q, 'resources.limits.memory': q });
      const cpu = (q: string) => ({ 'resources.requests.cpu': q, 'resources.limits.cpu': q });
      for (const [set, rendered] of [
        [autopilot, '1Gi'],
        [{ ...autopilot, ...cpu('1'), ...memory('6.5Gi') }, '6.5Gi'],
        [{ ...autopilot, ...cpu('2'), ...memory('2Gi') }, '2Gi'],
        // The general-purpose minimums (without bursting) and the largest ephemeral storage Autopilot admits.
        [{ ...autopilot, ...cpu('250m'), ...memory('512Mi') }, '512Mi'],
        [{ ...autopilot, 'resources.requests.ephemeral-storage': '10Gi', 'resources.limits.ephemeral-storage': '10Gi' }, '1Gi'],
      ] as const)
        assert.equal(gatewayContainer(helmTemplate({ set })).resources.requests.memory, rendered);
      assert.match(helmTemplateError({ set: { ...autopilot, ...cpu('1'), ...memory('7Gi') } }), /7 GiB per vCPU/);
      helmTemplate({ set: { ...DEFAULTS.set, ...memory('8Gi') } });
      helmTemplate({ set: { ...DEFAULTS.set, ...cpu('100m'), ...memory('256Mi') } });
      helmTemplate({ set: { ...autopilot, ...memory('8Gi'), 'nodeSelector.cloud\\.google\\.com/compute-class': 'Balanced' } });
      assert.equal(
        parseYaml(readFileSync(resolve(CHART_DIR, 'values-gke.yaml'), 'utf8')).autopilot,
        true,
        'the GKE Autopilot values check it',
      );
    });

    // Found by an independent check: the test pod (the gateway's image) had neither the pull secret nor the
    // node selection of the gateway's pods, and the NetworkPolicy the README advises for GKE's load balancers shut it out.
    it('the helm test pod pulls, schedules and is admitted as the gateway pods are', () => {
      const placement = {
        'imagePullSecrets[0].name': 'registry-pull',
        'nodeSelector.kubernetes\\.io/arch': 'arm64',
        'tolerations[0].key': 'kubernetes.io/arch',
        'tolerations[0].operator': 'Exists',
        'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key': 'pool',
        'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator': 'In',
        'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]': 'llm',
        priorityClassName: 'gateway-critical',
        // What admission (a mesh, a policy engine) keys on.
        'podLabels.team': 'ml-platform',
        'podAnnotations.policy\\.example\\.com/tier': 'gateway',
      };
      const r = helmTemplate({ set: { ...DEFAULTS.set, ...placement, 'networkPolicy.ingressFrom[0].ipBlock.cidr': '35.191.0.0/16' } });
      const test = r.one('Pod');
      const gateway = podSpec(gatewayDeployment(r));
      for (const field of ['imagePullSecrets', 'nodeSelector', 'tolerations', 'affinity', 'priorityClassName'])
        assert.deepEqual([field, test.spec[field]], [field, gateway[field]]);
      assert.deepEqual(test.spec.nodeSelector, { 'kubernetes.io/arch': 'arm64' });
      assert.equal(test.spec.priorityClassName, 'gateway-critical');
      assert.equal(test.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.length, 1);
      assert.equal(test.metadata.labels?.team, 'ml-platform');
      assert.equal(test.metadata.labels?.['app.kubernetes.io/component'], 'test', 'still not a gateway pod to the selectors');
      assert.deepEqual(
        [test.metadata.annotations?.['policy.example.com/tier'], test.metadata.annotations?.['helm.sh/hook']],
        ['gateway', 'test'],
      );
      const [publicRule] = r.one('NetworkPolicy', gatewayServiceName(r)).spec.ingress;
      assert.ok(
        publicRule.from.some((peer: any) => peer.podSelector && selects(peer.podSelector.matchLabels, podLabels(test))),
        'the test pod reaches the public port',
      );
      assert.ok(
        !publicRule.from.some((peer: any) => peer.podSelector && selects(peer.podSelector.matchLabels, podLabels(redisStatefulSet(r)!))),
        'no other pod of the release does',
      );
    });

    it('Redis: maxmemory is the given share of the memory limit, the digest pins the image', () => {
      const args = (r: Rendered) => containerEnv(redisStatefulSet(r)!.spec.template.spec.containers[0]).REDIS_ARGS;
      const maxmemory = (r: Rendered) => Number(/--maxmemory (\d+)/.exec(args(r))![1]);
      assert.equal(maxmemory(helmTemplate(DEFAULTS)), Math.floor(0.6 * 1024 ** 3));
      const small = helmTemplate({
        set: {
          ...DEFAULTS.set,
          'redis.maxmemoryPercent': '50',
          'redis.resources.limits.memory': '2Gi',
          'redis.resources.requests.memory': '2Gi',
        },
      });
      assert.equal(maxmemory(small), 1024 ** 3);
      const digest = `sha256:${'ab'.repeat(32)}`;
      const pinned = helmTemplate({ set: { ...DEFAULTS.set, 'redis.image.digest': digest } });
      assert.equal(redisStatefulSet(pinned)!.spec.template.spec.containers[0].image, `redis/redis-stack-server@${digest}`);
    });

    it(
      'Redis: the rendered arguments, readiness probe and gateway URL on a real redis-server (PONG ready, error replies not)',
      { skip: !process.env.TEST_REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
      async () => {
        // Not the default port: the rendered arguments must make Redis listen where the probes, the Service and
        // the gateway's URL look (found by an independent check: redis.port reached everything but redis-server).
        const port = await freePort();
        const r = helmTemplate({ set: { ...DEFAULTS.set, 'redis.port': String(port) } });
        const container = redisStatefulSet(r)!.spec.template.spec.containers[0];
        const password = Buffer.from(r.one('Secret').data!.REDIS_PASSWORD, 'base64').toString();
        const args = containerEnv(container).REDIS_ARGS.replace(`secret.${gatewayServiceName(r)}.REDIS_PASSWORD`, password);
        const dir = mkdtempSync(join(tmpdir(), 'chart-redis-'));
        const server = spawn(
          process.env.TEST_REDIS_SERVER!,
          // Its own directory: the rendered arguments turn the append-only file on.
          ['--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args.split(' ')],
          {
            stdio: 'ignore',
          },
        );
        try {
          const probe = container.readinessProbe.exec.command[2];
          const run = (auth: string) => spawnSync('sh', ['-c', probe], { env: { PATH: process.env.PATH, REDISCLI_AUTH: auth } });
          for (let i = 0; i < 100 && run(password).status !== 0; i++) await new Promise((done) => setTimeout(done, 50));
          assert.equal(run(password).status, 0, 'PONG: ready');
          assert.notEqual(run('wrong-password').status, 0, 'an error reply (WRONGPASS/NOAUTH) is not ready');
          const redis = new Redis(`redis://:${password}@127.0.0.1:${port}`);
          try {
            assert.equal(Number((await redis.config('GET', 'maxmemory'))[1]), Math.floor(0.6 * 1024 ** 3));
            assert.equal((await redis.config('GET', 'maxmemory-policy'))[1], 'noeviction');
          } finally {
            redis.disconnect();
          }
          // The gateway's REDIS_URL as the kubelet expands it, pointed at this server: a key stored through the admin API.
          const rendered = new URL(containerEnv(gatewayContainer(r)).REDIS_URL);
          assert.equal(rendered.password, `secret.${gatewayServiceName(r)}.REDIS_PASSWORD`);
          assert.equal(Number(rendered.port), port);
          const url = `redis://:${password}@127.0.0.1:${rendered.port}${rendered.pathname}`;
          const yaml = r.one('ConfigMap', gatewayServiceName(r)).data!['gateway.yaml'];
          const gateway = await GatewayProcess.start(parseYaml(yaml), { env: { REDIS_URL: url, GATEWAY_MASTER_KEY: MASTER_KEY } });
          try {
            // Connected and authenticated: /ready reports Redis reachable (a wrong password never is); with auth on
            // the details are on the ops port.
            let reachable = false;
            for (let i = 0; i < 300 && !reachable; i++) {
              if (i) await new Promise((done) => setTimeout(done, 100));
              const ready = (await (await fetch(`${gateway.opsUrl}/ready`)).json()) as { info?: { redis?: { reachable?: boolean } } };
              reachable = ready.info?.redis?.reachable === true;
            }
            const warnings = () => gateway.rawOutput.filter((line) => /"level":(40|50)/.test(line)).join('\n');
            assert.ok(reachable, `the gateway reaches Redis with the rendered URL and password\n${warnings()}`);
            // A few tries: on a busy machine one command may outlast the gateway's 500 ms Redis timeout.
            let created: Response | undefined;
            for (let i = 0; i < 5 && created?.status !== 201; i++) {
              if (i) await new Promise((done) => setTimeout(done, 200));
              created = await fetch(`${gateway.opsUrl}/admin/keys`, {
                method: 'POST',
                headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
                body: JSON.stringify({ name: `chart-redis-${i}` }),
              });
            }
            assert.equal(created!.status, 201, `${await created!.text()}\n${warnings()}`);
          } finally {
            await gateway.stop();
          }
        } finally {
          server.kill();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );

    it(
      'Redis: an existingSecret REDIS_PASSWORD with a line break at the end (kubectl --from-file) makes Redis Ready, and Ready means the gateway gets in',
      { skip: !process.env.TEST_REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
      async () => {
        // Found by an independent check (ops28 D1): redis-stack-server's entrypoint passes REDIS_ARGS unquoted, so the shell
        // dropped the line break from --requirepass, while the probe's redis-cli sent it: WRONGPASS, Redis never Ready.
        const port = await freePort();
        const r = helmTemplate({ set: { 'secrets.existingSecret': 'keys', 'redis.port': String(port) } });
        const container = redisStatefulSet(r)!.spec.template.spec.containers[0];
        const placeholder = 'secret.keys.REDIS_PASSWORD';
        const probe = container.readinessProbe.exec.command[2];
        const base = 'rpw-0123456789abcdef';
        // A space or a CR: the gateway's URL keeps what Redis's word splitting drops, so Ready must say no.
        for (const [password, works] of [
          [`${base}\n`, true],
          [`${base}\r\n`, false],
          [` ${base}`, false],
        ] as const) {
          const dir = mkdtempSync(join(tmpdir(), 'chart-redis-'));
          // As the kubelet expands $(REDISCLI_AUTH) and the image's entrypoint passes REDIS_ARGS: unquoted, word-split.
          const args = containerEnv(container).REDIS_ARGS.replace(placeholder, password);
          const server = spawn(
            'sh',
            ['-c', `exec "$0" --bind 127.0.0.1 --save '' --dir "$1" ${args}`, process.env.TEST_REDIS_SERVER!, dir],
            {
              stdio: 'ignore',
            },
          );
          try {
            const serving = () =>
              spawnSync('redis-cli', ['-p', String(port), 'ping'])
                .stdout?.toString()
                .trim();
            for (let i = 0; i < 100 && !/PONG|NOAUTH/.test(serving() ?? ''); i++) await new Promise((done) => setTimeout(done, 50));
            const ready = spawnSync('sh', ['-c', probe], { env: { PATH: process.env.PATH, REDISCLI_AUTH: password } }).status === 0;
            // The gateway's REDIS_URL as the kubelet expands it, through the gateway's config and its Redis client.
            const url = containerEnv(gatewayContainer(r))
              .REDIS_URL.replace(placeholder, password)
              .replace(/@[^:]+:/, '@127.0.0.1:');
            const mock = {
              providers: [{ name: 'mock', type: 'mock' }],
              models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
            };
            const redis = new Redis(parseConfig(mock, { REDIS_URL: url }).redisUrl!, {
              maxRetriesPerRequest: 0,
              retryStrategy: () => null,
            });
            redis.on('error', () => undefined); // WRONGPASS: the ping below says it
            const gets = await redis.ping().then(
              (reply) => reply === 'PONG',
              () => false,
            );
            redis.disconnect();
            assert.equal(ready, works, `Ready for ${JSON.stringify(password)}`);
            assert.equal(gets, works, `the gateway's URL for ${JSON.stringify(password)}`);
          } finally {
            const exited = server.exitCode !== null || new Promise((done) => server.once('exit', done));
            server.kill();
            await exited;
            rmSync(dir, { recursive: true, force: true });
          }
        }
      },
    );

    it('the values schema and template checks refuse bad values with a clear message', () => {
      const cases: [ValueSet, RegExp][] = [
        [{ set: { containerPort: 'abc' } }, /containerPort/],
        [{ set: { 'securityContext.runAsNonRoot': 'false' } }, /runAsNonRoot/],
        [{ set: { 'podSecurityContext.runAsUser': '0' } }, /runAsUser/],
        [{ set: { 'securityContext.capabilities.add[0]': 'NET_ADMIN' } }, /capabilities\.add|maxItems|add/],
        [{ set: { 'redis.securityContext.capabilities.add[0]': 'NET_RAW' } }, /capabilities\.add|maxItems|add/],
        [{ set: { replicas: '3' } }, /replicas/],
        [{ set: { 'env.PORT': '8080' } }, /at '\/env\/PORT': 'not' failed/],
        [{ set: { 'env.METRICS_HOST': '0.0.0.0' } }, /at '\/env\/METRICS_HOST': 'not' failed/],
        [{ set: { 'externalRedis.url': 'redis://user:pw@host:6379', 'redis.enabled': 'false' } }, /externalRedis/],
        [{ set: { 'externalRedis.url': 'redis://10.0.0.3:6379' } }, /either redis.enabled or externalRedis.url/],
        [{ set: { 'externalRedis.cluster': 'true' } }, /either redis.enabled or externalRedis.url/],
        [{ set: { 'redis.enabled': 'false', 'externalRedis.cluster': 'true' } }, /need externalRedis.url/],
        [{ set: { terminationGracePeriodSeconds: '40' } }, /terminationGracePeriodSeconds \(40\) must exceed .* \(45\)/],
        [{ set: { 'config.server.shutdownDelayMs': '1000' } }, /at '\/config\/server\/shutdownDelayMs': 'not' failed/],
        [
          { set: { 'gatewayApi.enabled': 'true', 'gatewayApi.tls.certificateMap': 'm', shutdownDelaySeconds: '4' } },
          /shutdownDelaySeconds \(4\) must cover the load balancer's health check/,
        ],
        [
          { set: { 'autoscaling.minReplicas': '5', 'autoscaling.maxReplicas': '3' } },
          /minReplicas \(5\) is above autoscaling.maxReplicas \(3\)/,
        ],
        [{ set: { 'resources.requests.memory': '2Gi' } }, /resources.requests.memory \(2Gi\) is above resources.limits.memory \(1Gi\)/],
        [
          { set: { 'redis.resources.requests.cpu': '1' } },
          /redis.resources.requests.cpu \(1\) is above redis.resources.limits.cpu \(500m\)/,
        ],
        [{ set: { 'redis.maxmemoryPercent': '75' } }, /maxmemoryPercent/],
        [
          { set: { 'redis.args': '--maxmemory 2gb' } },
          /at '\/redis\/args': '--maxmemory 2gb' does not match pattern '\^\(set by the chart: remove/,
        ],
        [{ set: { 'redis.password': 'has spaces and @' } }, /redis.password|password/],
        [{ set: { metricsPort: '3000' } }, /metricsPort must differ from containerPort/],
        [{ set: { 'loadBalancer.enabled': 'true', 'loadBalancer.internal': 'false' } }, /needs loadBalancer.sourceRanges/],
        [{ set: { 'gatewayApi.enabled': 'true' } }, /gatewayApi.createGateway needs TLS/],
        [
          { set: { 'gatewayApi.enabled': 'true', 'gatewayApi.tls.certificateMap': 'm', 'config.server.keepAliveTimeoutMs': '600000' } },
          /config.server.keepAliveTimeoutMs \(600000\) must exceed 600000 with gatewayApi/,
        ],
        [{ set: { 'env.KEEP_ALIVE_TIMEOUT_MS': '1000' } }, /at '\/env\/KEEP_ALIVE_TIMEOUT_MS': 'not' failed/],
        [{ set: { 'secrets.masterKey': 'short' } }, /masterKey/],
        [{ set: { 'secrets.providerKeys.REDIS_PASSWORD': 'x' } }, /at '\/secrets\/providerKeys\/REDIS_PASSWORD': 'not' failed/],
        // Through envFrom these would override the config the chart checks (or sets): refused as provider keys.
        [{ set: { 'secrets.providerKeys.SHUTDOWN_GRACE_MS': 'x' } }, /SHUTDOWN_GRACE_MS/],
        [{ set: { 'secrets.providerKeys.KEEP_ALIVE_TIMEOUT_MS': 'x' } }, /KEEP_ALIVE_TIMEOUT_MS/],
        [{ set: { 'secrets.providerKeys.LOG_LEVEL': 'x' } }, /LOG_LEVEL/],
        // A misspelt config key would render and the pods would exit 78 at start.
        [{ set: { 'config.server.shutdownGraceMS': '60000' } }, /additional properties 'shutdownGraceMS' not allowed/],
        [{ set: { 'config.servr.logLevel': 'debug' } }, /additional properties 'servr' not allowed/],
        [{ set: { 'podDisruptionBudget.maxUnavailable': 'abc' } }, /maxUnavailable/],
        // Found by an independent check: 0 blocks every voluntary eviction (node upgrades wait, then drain anyway).
        [
          { set: { 'podDisruptionBudget.maxUnavailable': '0' } },
          /podDisruptionBudget.maxUnavailable \(0\) blocks every voluntary eviction/,
        ],
        [
          { set: { 'podDisruptionBudget.maxUnavailable': '0%' } },
          /podDisruptionBudget.maxUnavailable \(0%\) blocks every voluntary eviction/,
        ],
        // Found by an independent check: these reached the API server (or helm test) before anything said no.
        [
          { set: { 'networkPolicy.ingressFrom[0].ipBlock.cidr': '35.191.0.0' } },
          /at '\/networkPolicy\/ingressFrom\/0\/ipBlock\/cidr': '35.191.0.0' does not match/,
        ],
        [
          {
            set: {
              'networkPolicy.metricsFrom[0].ipBlock.cidr': '10.0.0.0/8',
              'networkPolicy.metricsFrom[0].ipBlock.except[0]': '10.1.0.0/40',
            },
          },
          /at '\/networkPolicy\/metricsFrom\/0\/ipBlock\/except\/0'/,
        ],
        [{ set: { 'externalRedis.cidr': '10.0.0.0/33' } }, /at '\/externalRedis\/cidr': '10.0.0.0\/33' does not match/],
        [{ set: { 'loadBalancer.sourceRanges[0]': '300.1.1.1/8' } }, /at '\/loadBalancer\/sourceRanges\/0': '300.1.1.1\/8' does not match/],
        [{ set: { 'podDisruptionBudget.maxUnavailable': '150%' } }, /at '\/podDisruptionBudget\/maxUnavailable'/],
        [{ set: { 'redis.password': 'fifteen-chars-x' } }, /at '\/redis\/password': 'fifteen-chars-x' does not match/],
        [{ set: { 'secrets.masterKey': `${MASTER_KEY.slice(0, 10)} ${MASTER_KEY.slice(10)}` } }, /at '\/secrets\/masterKey'/],
        [
          { set: { 'tests.model': 'nonexistent' } },
          /tests.model \(nonexistent\) is not served by config.models .* use one of mock-1, mock, /,
        ],
        [
          {
            set: {
              'tests.model': 'x',
              'config.models[0].name': 'x-1',
              'config.models[0].deployments[0].provider': 'mock',
              'config.models[0].deployments[0].model': 'mock-1',
            },
          },
          /tests.model \(x\) is not served/,
        ],
        // Misspelt security fields were passed through (and dropped or refused only by the API server).
        [{ set: { 'podSecurityContext.runAsUsr': '10001' } }, /additional properties 'runAsUsr' not allowed/],
        [{ set: { 'securityContext.readOnlyRootFileSystem': 'true' } }, /additional properties 'readOnlyRootFileSystem' not allowed/],
        [{ set: { 'securityContext.seccompProfile.typ': 'RuntimeDefault' } }, /additional properties 'typ' not allowed/],
        [{ set: { 'securityContext.capabilities.dorp[0]': 'ALL' } }, /additional properties 'dorp' not allowed/],
        [{ set: { 'redis.podSecurityContext.fsGrup': '999' } }, /additional properties 'fsGrup' not allowed/],
        // GKE Autopilot's general-purpose pods: 1 to 6.5 GiB of memory per vCPU.
        [
          {
            set: {
              autopilot: 'true',
              'resources.requests.memory': '8Gi',
              'resources.limits.memory': '8Gi',
            },
          },
          /resources: 8Gi of memory for 500m CPU is 16 GiB per vCPU; GKE Autopilot's general-purpose pods take 1 to 6.5/,
        ],
        [
          { set: { autopilot: 'true', 'redis.resources.requests.cpu': '2', 'redis.resources.limits.cpu': '2' } },
          /redis.resources: 1Gi of memory for 2 CPU is 0.5 GiB per vCPU; GKE Autopilot's general-purpose pods take 1 to 6.5/,
        ],
        // Found by an independent check: Autopilot raised requests below its minimums, and refused 20Gi of ephemeral storage at admission.
        [
          {
            set: {
              autopilot: 'true',
              'resources.requests.cpu': '100m',
              'resources.limits.cpu': '100m',
              'resources.requests.memory': '256Mi',
              'resources.limits.memory': '256Mi',
            },
          },
          /resources: a cpu request of 100m is below GKE Autopilot's general-purpose minimum of 250m/,
        ],
        [
          {
            set: {
              autopilot: 'true',
              'redis.resources.requests.memory': '256Mi',
              'redis.resources.limits.memory': '256Mi',
              'redis.resources.requests.cpu': '250m',
              'redis.resources.limits.cpu': '250m',
            },
          },
          /redis.resources: a memory request of 256Mi is below GKE Autopilot's general-purpose minimum of 512Mi/,
        ],
        [
          { set: { autopilot: 'true', 'resources.requests.ephemeral-storage': '20Gi', 'resources.limits.ephemeral-storage': '20Gi' } },
          /resources: an ephemeral-storage request of 20Gi is above GKE Autopilot's general-purpose maximum of 10Gi/,
        ],
        [
          {
            set: {
              'redis.persistence.enabled': 'false',
              'redis.resources.limits.ephemeral-storage': '128Mi',
              'redis.resources.requests.ephemeral-storage': '128Mi',
            },
          },
          /redis.resources.limits.ephemeral-storage \(128Mi\) must be at least 192Mi with redis.persistence.enabled=false/,
        ],
      ];
      for (const [values, message] of cases) {
        const set = { ...DEFAULTS.set, ...values.set };
        assert.match(helmTemplateError({ ...values, set }), message, JSON.stringify(values));
      }
    });

    // Found by an independent check: the schema refused these through `not` under `propertyNames`, and Helm
    // reported "'not' failed" at an unrelated, run-to-run different path, naming neither the value nor why.
    it('values naming what the chart sets are refused at their own path by the schema, and with what to set instead by the templates', () => {
      const schema = JSON.parse(readFileSync(resolve(CHART_DIR, 'values.schema.json'), 'utf8'));
      const ownedEnv = Object.keys(schema.definitions.chartOwnedEnv.properties);
      assert.ok(ownedEnv.includes('PORT') && ownedEnv.includes('SHUTDOWN_GRACE_MS'), ownedEnv.join());
      const cases: [Record<string, string>, string, RegExp][] = [
        ...ownedEnv.flatMap((name): [Record<string, string>, string, RegExp][] => [
          [{ [`env.${name}`]: '1' }, `/env/${name}`, new RegExp(`env\\.${name} is set by the chart: (set|remove)`)],
          [
            { [`secrets.providerKeys.${name}`]: 'x' },
            `/secrets/providerKeys/${name}`,
            new RegExp(`secrets\\.providerKeys\\.${name} names a variable the chart sets .*: (set|remove)`),
          ],
        ]),
        [{ 'secrets.providerKeys.LOG_LEVEL': 'debug' }, '/secrets/providerKeys/LOG_LEVEL', /set env.LOG_LEVEL or config.server.logLevel/],
        [{ 'config.server.port': '1' }, '/config/server/port', /config.server.port is set by the chart: set containerPort instead/],
        [
          { 'config.server.metricsPort': '1' },
          '/config/server/metricsPort',
          /config.server.metricsPort is set by the chart: set metricsPort/,
        ],
        [{ 'config.server.host': 'x' }, '/config/server/host', /config.server.host is set by the chart: remove it/],
        [{ 'config.server.metricsHost': 'x' }, '/config/server/metricsHost', /config.server.metricsHost is set by the chart: remove it/],
        [{ 'config.server.shutdownDelayMs': '1' }, '/config/server/shutdownDelayMs', /set shutdownDelaySeconds instead/],
        [{ 'config.redisUrl': 'redis://x' }, '/config/redisUrl', /config.redisUrl is set by the chart: set redis.\* or externalRedis.url/],
        [{ 'config.masterKey': 'x' }, '/config/masterKey', /config.masterKey is set by the chart: set secrets.masterKey/],
      ];
      for (const [set, path, reason] of cases) {
        const values = { set: { ...DEFAULTS.set, ...set } };
        // Helm checks the schema before it renders: its message is the one users see.
        assert.match(helmTemplateError(values), new RegExp(`at '${path}': 'not' failed`), JSON.stringify(set));
        assert.match(helmTemplateError({ ...values, skipSchemaValidation: true }), reason, JSON.stringify(set));
      }
      // Redis reads option names in any case, the last one given winning: `--MAXMEMORY` replaced the chart's (found by a re-check).
      for (const arg of ['--maxmemory 1gb', '--appendonly yes --requirepass=x', '--requirepass', '--MAXMEMORY 1gb', '--RequirePass x']) {
        const values = { set: { ...DEFAULTS.set, 'redis.args': arg } };
        const option = /--(maxmemory|requirepass)/i.exec(arg)![0];
        assert.match(
          helmTemplateError(values),
          new RegExp(`at '/redis/args': '${arg}' does not match pattern '\\^\\(set by the chart: remove`),
        );
        assert.match(
          helmTemplateError({ ...values, skipSchemaValidation: true }),
          new RegExp(`redis.args \\(${arg}\\): ${option} is set by the chart: remove it`),
        );
      }
      // The schema's unmatchable then-pattern itself (it is only there to quote the value): still refused.
      const literal = 'set by the chart: remove --maxmemory and --requirepass from redis.args';
      assert.match(helmTemplateError({ set: { ...DEFAULTS.set, 'redis.args': literal } }), /--maxmemory is set by the chart: remove it/);
      helmTemplate({ set: { ...DEFAULTS.set, 'redis.args': '--maxmemory-policy allkeys-lru', 'env.LOG_LEVEL': 'debug' } });
    });

    // Found by an independent check (ops28 D3): env.OPENAI_API_KEY was rendered as a plain `value:` in the Deployment.
    it('env refuses keys (a *_API_KEY, or a name the config reads a key from): it is rendered in plain text', () => {
      const holdsAKey = (name: string) =>
        new RegExp(`env\\.${name} holds a key .*; put it in secrets\\.providerKeys or secrets\\.existingSecret`);
      for (const name of ['OPENAI_API_KEY', 'GOOGLE_API_KEY', 'MY_VENDOR_API_KEY']) {
        const values = { set: { ...DEFAULTS.set, [`env.${name}`]: 'sk-plain-text-0123456789' } };
        assert.match(helmTemplateError(values), new RegExp(`at '/env/${name}': 'not' failed`), name);
        assert.match(helmTemplateError({ ...values, skipSchemaValidation: true }), holdsAKey(name), name);
      }
      // Names the schema cannot know: the config's own keyEnv / apiKeyEnv (the template check refuses them).
      const config = {
        'config.security.keys[0].id': 'team-a',
        'config.security.keys[0].keyEnv': 'TEAM_A_KEY',
        'config.security.adminKeys[0].id': 'ops',
        'config.security.adminKeys[0].keyEnv': 'OPS_ADMIN',
        'config.security.adminKeys[0].role': 'read',
      };
      for (const name of ['TEAM_A_KEY', 'OPS_ADMIN'])
        assert.match(helmTemplateError({ set: { ...DEFAULTS.set, ...config, [`env.${name}`]: 'x'.repeat(20) } }), holdsAKey(name), name);
      // Other variables are taken as before.
      helmTemplate({ set: { ...DEFAULTS.set, ...config, 'env.OTEL_SERVICE_NAME': 'gw', 'env.API_KEY_HEADER': 'x' } });
    });

    // Found by an independent check: a literal key in config passed the schema and was rendered into the ConfigMap
    // (kept in every release revision), and the gateway then refused the config at start (exit 78).
    it('config refuses literal keys (providers[].apiKey, security keys, credential headers) naming the path and apiKeyEnv / keyEnv', () => {
      const provider = { 'config.providers[0].name': 'mock', 'config.providers[0].type': 'mock' };
      const refused = (set: Record<string, string>, message: RegExp) => {
        const error = helmTemplateError({ set: { ...DEFAULTS.set, ...provider, ...set } });
        assert.match(error, message);
        assert.match(error, /rendered in plain text into the ConfigMap/);
        assert.doesNotMatch(error, /sk-literal/, 'the error does not repeat the key');
      };
      for (const field of ['apiKey', 'api_key'])
        refused(
          { [`config.providers[0].${field}`]: 'sk-literal-0123456789' },
          new RegExp(`config\\.providers\\[0\\]\\.${field}: .*apiKeyEnv`),
        );
      for (const header of ['Authorization', 'x-api-key', 'Api-Key', 'x-goog-api-key', 'Proxy-Authorization'])
        refused(
          { [`config.providers[0].headers.${header}`]: 'Bearer sk-literal-0123456789' },
          new RegExp(`config\\.providers\\[0\\]\\.headers\\.${header} carries a credential.*apiKeyEnv`),
        );
      for (const list of ['keys', 'adminKeys'])
        refused(
          { [`config.security.${list}[0].id`]: 'a', [`config.security.${list}[0].key`]: 'sk-literal-0123456789' },
          new RegExp(`config\\.security\\.${list}\\[0\\]\\.key: .*config\\.security\\.${list}\\[0\\]\\.keyEnv`),
        );
      // The forms the gateway takes render, and it loads them.
      const legit = helmTemplate({
        set: {
          ...DEFAULTS.set,
          ...provider,
          'config.models[0].name': 'mock-1',
          'config.models[0].deployments[0].provider': 'mock',
          'config.models[0].deployments[0].model': 'mock-1',
          'config.providers[0].apiKeyEnv': 'MOCK_API_KEY',
          'config.providers[0].headers.OpenAI-Organization': 'org-1',
          'config.security.keys[0].id': 'team-a',
          'config.security.keys[0].keyEnv': 'TEAM_A_KEY',
          'config.security.adminKeys[0].id': 'ops',
          'config.security.adminKeys[0].keyEnv': 'OPS_ADMIN',
          'config.security.adminKeys[0].role': 'read',
        },
      });
      // The keys as the Secret would give them (envFrom).
      const env = { ...containerEnv(gatewayContainer(legit)), TEAM_A_KEY: 'sk-team-a-0123456789', OPS_ADMIN: 'sk-ops-0123456789abc' };
      const config = parseConfig(parseYaml(legit.one('ConfigMap', 'gw-ai-gateway').data!['gateway.yaml']), env, 'rendered ConfigMap');
      assert.equal(config.providers[0].apiKeyEnv, 'MOCK_API_KEY');
      assert.deepEqual(config.providers[0].headers, { 'OpenAI-Organization': 'org-1' });
      assert.equal(config.security.keys[0].keyEnv, 'TEAM_A_KEY');
    });

    // Found by an independent check: a selector label or checksum annotation in podLabels / podAnnotations was
    // rendered twice, which Kubernetes' decoder refuses at install (the schema had let it through).
    it('podLabels and podAnnotations naming a key the chart sets on the pods are refused, saying which and why', () => {
      const r = helmTemplate(DEFAULTS);
      const chartLabels = new Set([...Object.keys(podLabels(gatewayDeployment(r))), ...Object.keys(podLabels(r.one('Pod')))]);
      assert.ok(chartLabels.has('app.kubernetes.io/component') && chartLabels.has('app.kubernetes.io/instance'), [...chartLabels].join());
      for (const key of chartLabels)
        assert.match(
          helmTemplateError({ set: { ...DEFAULTS.set, [`podLabels.${key.replace(/\./g, '\\.')}`]: 'x' } }),
          new RegExp(`podLabels.${key} is set by the chart .* remove it from podLabels`),
          key,
        );
      const annotations = Object.keys(gatewayDeployment(r).spec.template.metadata.annotations);
      assert.deepEqual(annotations.sort(), ['checksum/config', 'checksum/secret']);
      for (const key of annotations)
        assert.match(
          helmTemplateError({ set: { ...DEFAULTS.set, [`podAnnotations.${key}`]: 'x' } }),
          new RegExp(`podAnnotations.${key} is set by the chart .* remove it from podAnnotations`),
        );
      // Keys of one's own render once, on the gateway pods and the test pod, which the strict decoder takes.
      const own = helmTemplate({ set: { ...DEFAULTS.set, 'podLabels.team': 'ml', 'podAnnotations.example\\.com/tier': 'gw' } });
      assert.equal(podLabels(gatewayDeployment(own)).team, 'ml');
      assert.equal(podLabels(own.one('Pod')).team, 'ml');
      for (const res of kubeStrict(own.text)) assert.equal(res.status, 'ok', `${res.kind} ${res.name}: ${res.error}`);
    });

    it('the values schema accepts every key of the config sections it closes (libs/config), and PDB percentages', () => {
      const chartOwned = ['host', 'port', 'metricsPort', 'metricsHost', 'shutdownDelayMs'];
      const server = Object.entries(new ServerConfig()).filter(([key]) => !chartOwned.includes(key));
      const set: Record<string, string> = { ...DEFAULTS.set, 'podDisruptionBudget.maxUnavailable': '25%' };
      for (const [key, value] of server) set[`config.server.${key}`] = Array.isArray(value) ? '{secret-[0-9]+}' : String(value);
      const config = effectiveConfig(helmTemplate({ set }));
      for (const [key, value] of server)
        assert.deepEqual(config.server[key as keyof ServerConfig], Array.isArray(value) ? ['secret-[0-9]+'] : value, key);
      const sections = Object.entries(new GatewayConfig()).filter(([key, value]) => key !== 'server' && typeof value === 'object');
      assert.ok(sections.length >= 5, sections.map(([key]) => key).join());
      for (const [key, value] of sections) {
        const path = Array.isArray(value) ? `config.${key}[0].name` : `config.${key}.name`;
        helmTemplate({ set: { ...DEFAULTS.set, [path]: 'x' } });
      }
    });

    it('CIDRs of every kind (IPv4, IPv6, the whole range), 100% and a 16-character Redis password are accepted', () => {
      const r = helmTemplate({
        set: {
          ...DEFAULTS.set,
          'networkPolicy.ingressFrom[0].ipBlock.cidr': '2001:db8::/32',
          'networkPolicy.ingressFrom[1].ipBlock.cidr': '35.191.0.0/16',
          'networkPolicy.ingressFrom[1].ipBlock.except[0]': '35.191.255.0/24',
          'networkPolicy.ingressFrom[2].namespaceSelector.matchLabels.team': 'ml',
          'networkPolicy.extraEgress[0].to[0].ipBlock.cidr': '0.0.0.0/0',
          'loadBalancer.sourceRanges[0]': '255.255.255.255/32',
          'podDisruptionBudget.maxUnavailable': '100%',
          'redis.password': 'sixteen-chars-xx',
        },
      });
      assert.deepEqual(
        r
          .one('NetworkPolicy', gatewayServiceName(r))
          .spec.ingress[0].from.slice(0, 2)
          .map((p: any) => p.ipBlock.cidr),
        ['2001:db8::/32', '35.191.0.0/16'],
      );
    });

    // Found by an independent check: `1e9`, `0.5Pi`, `1E`, `500u` were refused (only plain numbers, m, k, M-T and Ki-Ti passed).
    it("resource quantities in each form of Kubernetes' grammar are accepted and compared in base units; others are refused", () => {
      const memory = (request: string, limit: string) => ({
        ...DEFAULTS.set,
        'resources.requests.memory': request,
        'resources.limits.memory': limit,
      });
      const cpu = (request: string, limit: string) => ({
        ...DEFAULTS.set,
        'resources.requests.cpu': request,
        'resources.limits.cpu': limit,
      });
      for (const [request, limit] of [
        ['1e9', '1Gi'],
        ['0.5Pi', '0.5Pi'],
        ['1E', '1Ei'],
        ['+.5Gi', '1Gi'],
        ['5.', '6'],
        ['2E3', '2k'],
        ['1e-3', '1m'],
      ])
        assert.equal(String(gatewayContainer(helmTemplate({ set: memory(request, limit) })).resources.requests.memory), request);
      assert.equal(gatewayContainer(helmTemplate({ set: cpu('500u', '1m') })).resources.requests.cpu, '500u');
      assert.equal(gatewayContainer(helmTemplate({ set: cpu('900000n', '1m') })).resources.requests.cpu, '900000n');
      // The request-above-limit check reads each form in base units: 1.1e9 bytes is above 1Gi (1,073,741,824).
      for (const [set, above] of [
        [memory('1.1e9', '1Gi'), 'resources.requests.memory (1.1e9) is above resources.limits.memory (1Gi)'],
        [memory('1E', '1Pi'), 'resources.requests.memory (1E) is above resources.limits.memory (1Pi)'],
        [memory('2Ei', '2E'), 'resources.requests.memory (2Ei) is above resources.limits.memory (2E)'],
        [cpu('2000u', '1m'), 'resources.requests.cpu (2000u) is above resources.limits.cpu (1m)'],
      ] as const)
        assert.ok(helmTemplateError({ set }).includes(above), above);
      assert.match(helmTemplateError({ set: memory('-1', '1Gi') }), /at '\/resources\/requests\/memory': minimum/);
      for (const nonsense of ['1e', '1Gb', 'abc', '-1Gi', '1.2.3', 'Gi', '1 Gi', '1K', '1ki', 'e3', '1e3Gi', '.', '1mi'])
        assert.match(
          helmTemplateError({ set: memory(nonsense, '1Gi') }),
          new RegExp(`at '/resources/requests/memory': '${nonsense.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' does not match pattern`),
          nonsense,
        );
    });

    it('secrets.existingSecret with a master key, provider keys or a Redis password is refused, not silently dropped', () => {
      const changes: Record<string, string>[] = [
        { 'secrets.masterKey': MASTER_KEY },
        { 'secrets.providerKeys.OPENAI_API_KEY': 'sk-provider' },
        { 'redis.password': 'another-redis-password' },
      ];
      for (const change of changes) {
        assert.match(
          helmTemplateError({ set: { 'secrets.existingSecret': 'keys', ...change } }),
          /secrets.existingSecret \(keys\) is set, so the chart creates no Secret and would drop/,
          JSON.stringify(change),
        );
      }
    });

    it('the grace and keep-alive the chart checks are set in env, which a Secret key of the same name (envFrom) cannot override', () => {
      const r = helmTemplate({
        files: ['ci/existing-secret-values.yaml'],
        set: { 'gatewayApi.enabled': 'true', 'gatewayApi.tls.certificateMap': 'm' },
      });
      const env = containerEnv(gatewayContainer(r));
      assert.equal(env.SHUTDOWN_GRACE_MS, String(effectiveConfig(r).server.shutdownGraceMs));
      assert.equal(env.KEEP_ALIVE_TIMEOUT_MS, String(effectiveConfig(r).server.keepAliveTimeoutMs));
      assert.ok(effectiveConfig(r).server.keepAliveTimeoutMs > GKE_LB_BACKEND_KEEPALIVE_MS);
      assert.ok(
        gatewayContainer(r).envFrom.some((e: any) => e.secretRef),
        'the Secret still comes in through envFrom, under env',
      );
    });

    it('Redis without persistence: no RDB or AOF writes, and /data has a sizeLimit inside the ephemeral-storage limit', () => {
      const args = (r: Rendered) => containerEnv(redisStatefulSet(r)!.spec.template.spec.containers[0]).REDIS_ARGS;
      const bytes = (q: string) => Number(/^\d+/.exec(q)![0]) * { Mi: 1024 ** 2, Gi: 1024 ** 3 }[q.replace(/^\d+/, '') as 'Mi' | 'Gi'];
      const off = helmTemplate({ set: { ...DEFAULTS.set, 'redis.persistence.enabled': 'false' } });
      // Redis takes the last of repeated options: these win over redis.args' --appendonly yes.
      assert.match(args(off), / --save '' --appendonly no$/);
      const spec = redisStatefulSet(off)!.spec.template.spec;
      const volumes = spec.volumes.map((v: any) => bytes(v.emptyDir.sizeLimit));
      const limit = bytes(spec.containers[0].resources.limits['ephemeral-storage']);
      assert.ok(volumes.reduce((a: number, b: number) => a + b) < limit, `${JSON.stringify(spec.volumes)} within ${limit}`);
      assert.doesNotMatch(args(helmTemplate(DEFAULTS)), /--save ''|--appendonly no/, 'with persistence Redis keeps its AOF');
    });

    describe('upgrades, with lookup reading the live objects (a fake API server on 127.0.0.1)', () => {
      const live = (kind: string, name: string, spec: object): Manifest => ({
        apiVersion: 'apps/v1',
        kind,
        metadata: { name, namespace: NAMESPACE },
        spec,
      });
      async function upgrade(objects: Manifest[], set: Record<string, string>) {
        const api = await new FakeKubeApi(objects).start();
        try {
          return await helmUpgradeRender(api.kubeconfig, { set: { ...DEFAULTS.set, ...set } }, NAMESPACE);
        } finally {
          await api.stop();
        }
      }
      const rendered = (r: Rendered | { error: string }) => {
        if ('error' in r) assert.fail(r.error);
        return r;
      };

      it('turning autoscaling on keeps the live replica count (within the HPA range) instead of dropping to 1', async () => {
        const deployment = (replicas: number) => [live('Deployment', 'gw-ai-gateway', { replicas })];
        const replicas = async (objects: Manifest[], set: Record<string, string> = {}) =>
          gatewayDeployment(rendered(await upgrade(objects, set))).spec.replicas;
        assert.equal(await replicas(deployment(4)), 4, 'a fixed 4-pod Deployment keeps 4 pods when the HPA takes over');
        assert.equal(await replicas(deployment(1)), 2, 'at least autoscaling.minReplicas');
        assert.equal(await replicas(deployment(30)), 10, 'at most autoscaling.maxReplicas');
        assert.equal(await replicas([]), undefined, 'install: the HPA sets the count');
        assert.equal(await replicas(deployment(4), { 'autoscaling.enabled': 'false', replicaCount: '3' }), 3);
      });

      it('a change to redis.persistence fails with the procedure, not on the immutable volumeClaimTemplates', async () => {
        const claim = { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } } };
        const withClaim = [live('StatefulSet', 'gw-ai-gateway-redis', { replicas: 1, volumeClaimTemplates: [claim] })];
        const noClaim = [live('StatefulSet', 'gw-ai-gateway-redis', { replicas: 1 })];
        const procedure =
          /cannot change.*patch pvc data-gw-ai-gateway-redis-0.*delete statefulset gw-ai-gateway-redis --cascade=orphan.*helm upgrade/;
        const error = async (objects: Manifest[], set: Record<string, string>) => {
          const r = await upgrade(objects, set);
          assert.ok('error' in r, `${JSON.stringify(set)} rendered`);
          return r.error;
        };
        const size = await error(withClaim, { 'redis.persistence.size': '16Gi' });
        assert.match(size, /redis.persistence.size changed \(8Gi -> 16Gi\)/);
        assert.match(size, procedure);
        assert.match(
          await error(withClaim, { 'redis.persistence.storageClassName': 'premium-rwo' }),
          /redis.persistence.storageClassName changed \( -> premium-rwo\)/,
        );
        assert.match(
          await error(withClaim, { 'redis.persistence.enabled': 'false' }),
          /redis.persistence.enabled changed \(true -> false\)/,
        );
        assert.match(await error(noClaim, {}), /redis.persistence.enabled changed \(false -> true\)/);
        rendered(await upgrade(withClaim, {}));
        rendered(await upgrade(noClaim, { 'redis.persistence.enabled': 'false' }));
      });

      it('an unchanged redis.persistence.size upgrades whichever way it was written (the API server keeps it canonical)', async () => {
        // Found by an independent check: compared as strings, every upgrade after an install with 8192Mi failed.
        const stored = (storage: string) => [
          live('StatefulSet', 'gw-ai-gateway-redis', {
            replicas: 1,
            volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage } } } }],
          }),
        ];
        // As k8s.io/apimachinery's resource.Quantity writes each value back.
        const canonical = { '8192Mi': '8Gi', '1.5Gi': '1536Mi', '10000M': '10G', '1e10': '10e9', '0.1Gi': '107374182400m' };
        for (const [size, storage] of Object.entries(canonical))
          rendered(await upgrade(stored(storage), { 'redis.persistence.size': size }));
        const grown = await upgrade(stored('8Gi'), { 'redis.persistence.size': '8193Mi' });
        assert.ok('error' in grown && /redis.persistence.size changed \(8Gi -> 8193Mi\)/.test(grown.error), JSON.stringify(grown));
      });
    });

    it('two releases in one cluster each get their own Grafana dashboard (uid and title), or the uid set', () => {
      const set = { ...DEFAULTS.set, 'metrics.grafanaDashboard.enabled': 'true' };
      const dashboard = (r: Rendered) => {
        const d = JSON.parse(r.one('ConfigMap', 'gw-ai-gateway-dashboard').data!['ai-gateway.json']);
        return [d.uid, d.title];
      };
      const staging = dashboard(helmTemplate({ set }, 'gw', 'staging'));
      const production = dashboard(helmTemplate({ set }, 'gw', 'production'));
      assert.deepEqual(staging[1], 'AI Gateway (staging/gw-ai-gateway)');
      assert.notEqual(staging[0], production[0]);
      assert.deepEqual(staging, dashboard(helmTemplate({ set }, 'gw', 'staging')), 'the same on every render');
      assert.equal(dashboard(helmTemplate({ set: { ...set, 'metrics.grafanaDashboard.uid': 'gw-prod' } }))[0], 'gw-prod');
      assert.match(helmTemplateError({ set: { ...set, 'metrics.grafanaDashboard.uid': 'a b' } }), /grafanaDashboard\/uid/);
    });

    // Found by an independent check (obs31, 2): each release's dashboard summed every release's series (no query was
    // scoped by namespace or job, and no variable offered it).
    it('each release`s dashboard queries only its own series: namespace and job variables default to the release`s', () => {
      const set = { ...DEFAULTS.set, 'metrics.grafanaDashboard.enabled': 'true' };
      const dashboard = (r: Rendered) => JSON.parse(r.one('ConfigMap', 'gw-ai-gateway-dashboard').data!['ai-gateway.json']);
      const defaults = (d: any) =>
        Object.fromEntries(
          d.templating.list.filter((v: any) => ['namespace', 'job'].includes(v.name)).map((v: any) => [v.name, v.current.value]),
        );
      const staging = dashboard(helmTemplate({ set: { ...set, 'metrics.podMonitoring.enabled': 'true' } }, 'gw', 'staging'));
      assert.deepEqual(defaults(staging), { namespace: 'staging', job: 'gw-ai-gateway' }, 'the PodMonitoring`s job');
      const operator = helmTemplate(
        {
          set: { ...set, 'metrics.serviceMonitor.enabled': 'true', 'networkPolicy.enabled': 'false' },
          apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'],
        },
        'gw',
        'production',
      );
      const metricsService = operator.all('Service').find((s) => s.metadata.labels?.['app.kubernetes.io/component'] === 'gateway-metrics');
      assert.deepEqual(
        defaults(dashboard(operator)),
        { namespace: 'production', job: metricsService!.metadata.name },
        'the metrics Service`s job',
      );
      assert.deepEqual(
        defaults(dashboard(helmTemplate({ set }, 'gw', 'other'))),
        { namespace: 'other', job: '$__all' },
        'your own scrape job',
      );
      // Every series a panel (or the model variable) selects is scoped by both: metric names, `by (...)` clauses dropped.
      const selectors = [
        ...staging.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)),
        staging.templating.list.find((v: any) => v.name === 'model').query,
      ].flatMap((e: string) => [
        ...e.replace(/\b(by|on|ignoring) \([^)]*\)/g, '').matchAll(/\b(?:gateway|gen_ai|process|nodejs)_[a-z0-9_]+(\{[^}]*\})?/g),
      ]);
      assert.ok(selectors.length >= 29);
      assert.deepEqual(
        selectors
          .filter(([, matchers]) => !matchers?.includes('namespace=~"$namespace"') || !matchers.includes('job=~"$job"'))
          .map(([s]) => s),
        [],
      );
    });

    it(
      'the Grafana dashboard and the chart README name only metrics the gateway exports',
      { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
      async () => {
        const r = helmTemplate({ set: { ...DEFAULTS.set, 'metrics.grafanaDashboard.enabled': 'true' } });
        const dashboard = JSON.parse(r.one('ConfigMap', 'gw-ai-gateway-dashboard').data!['ai-gateway.json']);
        const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
        // Metric names, not label names (`by (...)` clauses dropped); histogram series (_bucket,
        // _sum, _count) count as the family they belong to.
        const names = (e: string) =>
          e.replace(/\bby \([^)]*\)/g, '').match(/\b(?:gateway|gen_ai|process|nodejs)_[a-z0-9_]+(?=[{[)]|$)/g) ?? [];
        const family = (m: string) => m.replace(/_(bucket|sum|count)$/, '');
        const used = new Set(exprs.flatMap(names).map(family));
        assert.ok(used.has('gateway_requests_total') && used.has('gateway_request_duration_seconds') && used.has('gateway_cost_usd_total'));
        // Found by an independent check: panels filtered on a job name (empty under fullnameOverride or
        // another scrape job's name), and the hit rate left out answers shared with identical requests.
        // A job is matched only through the dashboard's variable, whose default the chart derives.
        assert.deepEqual(
          exprs.filter((e) => /\bjob\b/.test(e.replaceAll('job=~"$job"', ''))),
          [],
        );
        // Hits of both spellings (upgrade32: the last release's hit_exact counted as misses while both releases served).
        const hits = exprs.map((e) => /gateway_cache_lookups_total\{[^}]*result=~"([^"]+)"/.exec(e)?.[1]).find((r) => r !== undefined);
        assert.ok(hits, 'a hit-rate query');
        const hit = new RegExp(`^(?:${hits})$`);
        assert.deepEqual(
          ['hit-exact', 'hit_exact', 'hit-semantic', 'hit_semantic', 'hit-coalesced', 'hit_coalesced', 'miss', 'bypass'].filter((r) =>
            hit.test(r),
          ),
          ['hit-exact', 'hit_exact', 'hit-semantic', 'hit_semantic', 'hit-coalesced', 'hit_coalesced'],
        );
        const readme = readFileSync(resolve(CHART_DIR, 'README.md'), 'utf8');
        const named = new Set([...readme.matchAll(/`((?:gateway|gen_ai|process|nodejs)_[a-z0-9_]+)/g)].map((m) => family(m[1])));
        assert.ok(named.size >= 3, `the README names ${[...named].join(', ')}`);
        const gateway = await GatewayProcess.start(parseYaml(r.one('ConfigMap', 'gw-ai-gateway').data!['gateway.yaml']), {
          env: { REDIS_URL: REDIS_URL! },
        });
        try {
          await gateway.client().chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'x' }] });
          const exported = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
          for (const metric of [...used, ...named])
            assert.ok(new RegExp(`^# TYPE ${metric} `, 'm').test(exported), `${metric} is exported`);
        } finally {
          await gateway.stop();
        }
      },
    );
  });
});
