{{/* Names and labels shared by every template. */}}

{{- define "ai-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; component suffixes (-redis, -lb) are appended to it. */}}
{{- define "ai-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 57 | trimSuffix "-" }}
{{- else if contains (include "ai-gateway.name" .) .Release.Name }}
{{- .Release.Name | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "ai-gateway.name" .) | trunc 57 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ai-gateway.chartLabel" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "ai-gateway.labels" -}}
{{ include "ai-gateway.chartLabel" . }}
{{ include "ai-gateway.podLabels" . }}
{{- end }}

{{/*
The gateway pods' labels (with their component): the objects' but helm.sh/chart, which changes with each
release of the chart: in the pod template it rolled every gateway pod on a release that changed nothing else.
*/}}
{{- define "ai-gateway.podLabels" -}}
app.kubernetes.io/name: {{ include "ai-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: gateway and Redis pods differ by component so no selector matches both. */}}
{{- define "ai-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "ai-gateway.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/*
The Redis pods' labels: none that changes with each release of the chart (helm.sh/chart, the
gateway's appVersion), since a changed pod template restarts the single Redis pod and every replica
loses its caches, rate windows and budgets while it reloads. app.kubernetes.io/version is Redis' own
image tag (as a label value: at most 63 characters, alphanumeric at both ends).
*/}}
{{- define "ai-gateway.redis.podLabels" -}}
{{ include "ai-gateway.redis.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "^[^A-Za-z0-9]+|[^A-Za-z0-9]+$" (.Values.redis.image.tag | trunc 63) "" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Redis StatefulSet's and Service's labels: the pods', with the chart's release on the objects only. */}}
{{- define "ai-gateway.redis.labels" -}}
{{ include "ai-gateway.chartLabel" . }}
{{ include "ai-gateway.redis.podLabels" . }}
{{- end }}

{{/*
"<fullname>-<suffix>" in at most <max> characters: the base is cut, never the suffix. Usage:
include "ai-gateway.suffixedName" (list . "metrics" 63).
*/}}
{{- define "ai-gateway.suffixedName" -}}
{{- $suffix := index . 1 }}
{{- $base := include "ai-gateway.fullname" (index . 0) | trunc (int (sub (index . 2) (add1 (len $suffix)))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/*
52, not 63: a StatefulSet's pods carry the label controller-revision-hash=<name>-<hash of up to
10 characters>, and a label value over 63 characters keeps the pod from ever being created.
*/}}
{{- define "ai-gateway.redis.fullname" -}}
{{- include "ai-gateway.suffixedName" (list . "redis" 52) }}
{{- end }}

{{/* A Service name: a DNS label, 63 characters at most. */}}
{{- define "ai-gateway.metrics.fullname" -}}
{{- include "ai-gateway.suffixedName" (list . "metrics" 63) }}
{{- end }}

{{- define "ai-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ai-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ai-gateway.secretName" -}}
{{- default (include "ai-gateway.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
GATEWAY_MASTER_KEY of the chart's Secret: secrets.masterKey, else (an upgrade) the key the release's
Secret already holds. Never random: a generated key would change on every `helm template` or GitOps
sync and roll the pods with a new key.
*/}}
{{- define "ai-gateway.masterKey" -}}
{{- $current := (lookup "v1" "Secret" .Release.Namespace (include "ai-gateway.fullname" .)).data | default dict }}
{{- .Values.secrets.masterKey | default (get $current "GATEWAY_MASTER_KEY" | b64dec) }}
{{- end }}

{{/* REDIS_PASSWORD of the chart's Secret: redis.password, else derived from the master key (stable across renders). */}}
{{- define "ai-gateway.redisPassword" -}}
{{- .Values.redis.password | default (printf "ai-gateway-redis:%s" (include "ai-gateway.masterKey" .) | sha256sum) }}
{{- end }}

{{- define "ai-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "ai-gateway.redis.image" -}}
{{- $image := .Values.redis.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository $image.tag }}
{{- end }}
{{- end }}

{{/*
The gateway's Redis environment: REDIS_PASSWORD from a Secret (the chart's for the in-cluster
Redis, externalRedis.passwordSecret otherwise), REDIS_URL with it expanded by the kubelet, the
CA file of a TLS Redis and cluster mode. Nothing when no Redis is configured.
*/}}
{{- define "ai-gateway.redisEnv" -}}
{{- $external := .Values.externalRedis }}
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "ai-gateway.secretName" . }}
      key: REDIS_PASSWORD
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s.%s.svc.cluster.local:%v" (include "ai-gateway.redis.fullname" .) .Release.Namespace .Values.redis.port | quote }}
{{- else if $external.url }}
{{- if $external.passwordSecret.name }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $external.passwordSecret.name }}
      key: {{ required "externalRedis.passwordSecret.key is required with passwordSecret.name" $external.passwordSecret.key }}
{{- /* Each of several comma-separated seed nodes (cluster) gets the password. */}}
{{- $urls := list }}
{{- range splitList "," $external.url }}
{{- $url := splitList "://" (trim .) }}
{{- $urls = append $urls (printf "%s://:$(REDIS_PASSWORD)@%s" (first $url) (last $url)) }}
{{- end }}
- name: REDIS_URL
  value: {{ join "," $urls | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ $external.url | quote }}
{{- end }}
{{- if $external.caSecret.name }}
- name: REDIS_TLS_CA_FILE
  value: /etc/ai-gateway/redis-ca/{{ $external.caSecret.key }}
{{- end }}
{{- if $external.cluster }}
- name: REDIS_CLUSTER
  value: "true"
{{- end }}
{{- end }}
{{- end }}

{{/*
Ports of the external Redis the gateway talks to, for the NetworkPolicy: each seed node's of a
comma-separated list (a self-managed cluster's nodes may listen on different ports), once each,
as a JSON list. 6379 where a URL names none.
*/}}
{{- define "ai-gateway.externalRedisPorts" -}}
{{- $ports := list }}
{{- range splitList "," .Values.externalRedis.url }}
{{- $host := (urlParse (trim .)).host }}
{{- $ports = append $ports (ternary (last (splitList ":" $host)) "6379" (contains ":" $host) | int) }}
{{- end }}
{{- $ports | uniq | toJson }}
{{- end }}

{{/* The gateway.yaml the pods read: the repository defaults, then values.config, then what the chart owns. */}}
{{- define "ai-gateway.gatewayConfig" -}}
{{- $config := mustMergeOverwrite (fromYaml (.Files.Get "files/gateway.yaml")) (deepCopy .Values.config) }}
{{- $server := mustMergeOverwrite (default (dict) $config.server) (dict "host" "0.0.0.0" "port" (int .Values.containerPort)) }}
{{- if .Values.gatewayApi.enabled }}
{{- /*
GKE's Application Load Balancers keep idle connections to the pods for 600 s (fixed): a pod that
closes one sooner races the load balancer reusing it, and the client gets a 502.
*/}}
{{- if not (hasKey $server "keepAliveTimeoutMs") }}
{{- $_ := set $server "keepAliveTimeoutMs" 620000 }}
{{- else if le (int $server.keepAliveTimeoutMs) 600000 }}
{{- fail (printf "config.server.keepAliveTimeoutMs (%v) must exceed 600000 with gatewayApi: GKE's load balancers keep idle backend connections for 600 s, and a gateway that closes them first causes sporadic 502s" $server.keepAliveTimeoutMs) }}
{{- end }}
{{- end }}
{{- $_ := set $config "server" $server }}
{{- toYaml $config }}
{{- end }}

{{/*
A Kubernetes quantity ("500m", "1Gi", "2", "1e3", "0.5Pi": the schema's grammar) as a float in base units
(cores, bytes), for the checks that compare requests, limits and Redis maxmemory. A decimal exponent ends
in a digit, so it has no suffix here: float64 reads "1e3" and "1E-2" as they are.
*/}}
{{- define "ai-gateway.quantity" -}}
{{- $q := toString . }}
{{- $units := dict "n" 0.000000001 "u" 0.000001 "m" 0.001 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 }}
{{- $suffix := regexFind "[a-zA-Z]+$" $q }}
{{- $number := float64 (trimSuffix $suffix $q) }}
{{- if $suffix }}{{ mulf $number (get $units $suffix) }}{{ else }}{{ $number }}{{ end }}
{{- end }}

{{/*
"true" when two quantities are the same amount however written ("8Gi" and "8192Mi", "1.5Gi" and
"1536Mi", "1e10" and "10e9"). Within a billionth: base-unit floats of one amount written two ways can
differ in the last bit ("0.1Gi" against its canonical "107374182400m").
Usage: include "ai-gateway.sameQuantity" (list "8Gi" "8192Mi")
*/}}
{{- define "ai-gateway.sameQuantity" -}}
{{- $a := float64 (include "ai-gateway.quantity" (index . 0)) }}
{{- $b := float64 (include "ai-gateway.quantity" (index . 1)) }}
{{- if or (eq $a $b) (and (ne $b 0.0) (lt (subf (divf $a $b) 1.0) 0.000000001) (gt (subf (divf $a $b) 1.0) -0.000000001)) }}true{{ end }}
{{- end }}

{{/* Fails unless every request is at most its limit (Autopilot sets limits to requests anyway). */}}
{{- define "ai-gateway.checkResources" -}}
{{- $where := index . 0 }}
{{- $resources := index . 1 }}
{{- range $name, $request := ($resources.requests | default dict) }}
{{- $limit := get ($resources.limits | default dict) $name }}
{{- if and $limit (gt (float64 (include "ai-gateway.quantity" $request)) (float64 (include "ai-gateway.quantity" $limit))) }}
{{- fail (printf "%s.requests.%s (%v) is above %s.limits.%s (%v)" $where $name $request $where $name $limit) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
GKE Autopilot's general-purpose compute class (the default): the smallest requests it takes without
raising them (on clusters without bursting; with bursting the floor is lower, 50m and 52Mi), the
largest ephemeral-storage request it admits, and the memory per vCPU it keeps. Checked by
ai-gateway.checkAutopilotResources; the helm test pod asks for the minimums.
*/}}
{{- define "ai-gateway.autopilotGeneralPurpose" -}}
minimums: {cpu: 250m, memory: 512Mi}
maxEphemeralStorage: 10Gi
gibPerCpu: {min: 1.0, max: 6.5}
{{- end }}

{{/*
With autopilot: true, fails unless the pod's requests (the limits where a request is unset, as
Kubernetes defaults them) fit GKE Autopilot's general-purpose pods: CPU and memory at least the
minimums and 1 to 6.5 GiB of memory per vCPU (outside them Autopilot raises the smaller request, and
the bill, without a word), ephemeral storage at most 10Gi (above it Autopilot refuses the pod at
admission, after helm has reported success). A compute class (nodeSelector
cloud.google.com/compute-class) has limits of its own: not checked.
Usage: include "ai-gateway.checkAutopilotResources" (list $ "resources" .Values.resources .Values.nodeSelector)
*/}}
{{- define "ai-gateway.checkAutopilotResources" -}}
{{- $where := index . 1 }}
{{- $resources := index . 2 }}
{{- if and (index . 0).Values.autopilot (not (hasKey (index . 3 | default dict) "cloud.google.com/compute-class")) }}
{{- $class := include "ai-gateway.autopilotGeneralPurpose" . | fromYaml }}
{{- $requests := mergeOverwrite (deepCopy ($resources.limits | default dict)) ($resources.requests | default dict) }}
{{- range $name := list "cpu" "memory" }}
{{- $minimum := get $class.minimums $name }}
{{- $request := get $requests $name }}
{{- if and $request (lt (float64 (include "ai-gateway.quantity" $request)) (float64 (include "ai-gateway.quantity" $minimum))) }}
{{- fail (printf "%s: a %s request of %v is below GKE Autopilot's general-purpose minimum of %s, and Autopilot would raise it (and the bill) without a word. Set %s.requests.%s and %s.limits.%s to at least %s, pick a compute class (nodeSelector cloud.google.com/compute-class), or set autopilot=false off Autopilot (or on a cluster with bursting, whose minimums are 50m and 52Mi)" $where $name $request $minimum $where $name $where $name $minimum) }}
{{- end }}
{{- end }}
{{- with get $requests "ephemeral-storage" }}
{{- if gt (float64 (include "ai-gateway.quantity" .)) (float64 (include "ai-gateway.quantity" $class.maxEphemeralStorage)) }}
{{- fail (printf "%s: an ephemeral-storage request of %v is above GKE Autopilot's general-purpose maximum of %s: Autopilot refuses the pod. Lower %s.requests and %s.limits ephemeral-storage, or set autopilot=false off Autopilot" $where . $class.maxEphemeralStorage $where $where) }}
{{- end }}
{{- end }}
{{- if and $requests.cpu $requests.memory }}
{{- $gibPerCpu := divf (divf (float64 (include "ai-gateway.quantity" $requests.memory)) 1073741824.0) (float64 (include "ai-gateway.quantity" $requests.cpu)) }}
{{- if or (lt $gibPerCpu $class.gibPerCpu.min) (gt $gibPerCpu $class.gibPerCpu.max) }}
{{- fail (printf "%s: %v of memory for %v CPU is %v GiB per vCPU; GKE Autopilot's general-purpose pods take %v to %v GiB per vCPU and Autopilot would raise the smaller request (and the bill). Change %s, pick a compute class (nodeSelector cloud.google.com/compute-class), or set autopilot=false off Autopilot" $where $requests.memory $requests.cpu (round $gibPerCpu 2) $class.gibPerCpu.min $class.gibPerCpu.max $where) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Grace: preStop pause + the gateway's not-ready delay + its drain + its wait for a last scrape + 10 s
for exit, unless set explicitly. The kubelet counts the preStop hook inside the grace period. An explicit
value must cover the drain; a shorter last-scrape wait only risks the drain's last samples.
*/}}
{{- define "ai-gateway.terminationGracePeriodSeconds" -}}
{{- $server := (fromYaml (include "ai-gateway.gatewayConfig" .)).server }}
{{- $needed := add (int .Values.preStopSleepSeconds) (int .Values.shutdownDelaySeconds) (div (add (int $server.shutdownGraceMs) 999) 1000) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed (div (add (int $server.shutdownScrapeMs) 999) 1000) 10 }}
{{- else if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + shutdownDelaySeconds + shutdownGraceMs/1000 (%v)" .Values.terminationGracePeriodSeconds $needed) }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
"true" when a pod's nodeSelector or required node affinity asks for GKE Spot capacity
(cloud.google.com/gke-spot, or gke-preemptible, which Autopilot turns into Spot): a preempted Spot
Pod gets a grace period of its own, whatever terminationGracePeriodSeconds says.
Usage: include "ai-gateway.onSpot" (list .Values.nodeSelector .Values.affinity)
*/}}
{{- define "ai-gateway.onSpot" -}}
{{- $keys := list "cloud.google.com/gke-spot" "cloud.google.com/gke-preemptible" }}
{{- $spot := false }}
{{- range $key, $value := index . 0 | default dict }}
{{- if and (has $key $keys) (eq (toString $value) "true") }}
{{- $spot = true }}
{{- end }}
{{- end }}
{{- with ((index . 1 | default dict).nodeAffinity | default dict).requiredDuringSchedulingIgnoredDuringExecution }}
{{- range .nodeSelectorTerms }}
{{- range .matchExpressions }}
{{- if and (has .key $keys) (eq .operator "In") (has "true" (.values | default list | toStrings)) }}
{{- $spot = true }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $spot }}true{{ end }}
{{- end }}

{{/*
The Deployment's replicas. Autoscaling off: replicaCount. On: none on install (the HPA sets the
count), but on an upgrade the live count, clamped to the HPA's range: a manifest without replicas
makes Helm's three-way patch remove the field, and the API server defaults it to 1 pod until the
HPA reacts. lookup finds nothing under helm template or on install.
*/}}
{{- define "ai-gateway.replicas" -}}
{{- $autoscaling := .Values.autoscaling }}
{{- if not $autoscaling.enabled }}
{{- .Values.replicaCount }}
{{- else }}
{{- with (lookup "apps/v1" "Deployment" .Release.Namespace (include "ai-gateway.fullname" .)).spec }}
{{- min (max (int .replicas) (int $autoscaling.minReplicas)) (int $autoscaling.maxReplicas) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Environment variables the chart sets itself (or whose config keys it checks), each with what to set
instead: refused as env and secrets.providerKeys names (env would be rendered twice; a Secret key,
through envFrom, would override the chart's value). values.schema.json's chartOwnedEnv names the same
keys and refuses them first, at their own path; these messages say why when the schema is skipped
(--skip-schema-validation).
*/}}
{{- define "ai-gateway.chartOwnedEnv" -}}
PORT: "set containerPort instead"
HOST: "remove it: the pods listen on 0.0.0.0"
GATEWAY_CONFIG: "set config instead (the chart mounts it as gateway.yaml)"
GATEWAY_MASTER_KEY: "set secrets.masterKey or secrets.existingSecret instead"
REDIS_URL: "set redis.* or externalRedis.url instead"
REDIS_PASSWORD: "set redis.password or externalRedis.passwordSecret instead"
REDIS_CLUSTER: "set externalRedis.cluster instead"
REDIS_TLS_CA_FILE: "set externalRedis.caSecret instead"
METRICS_PORT: "set metricsPort instead"
METRICS_HOST: "remove it: the ops listener is on 0.0.0.0 and networkPolicy.metricsFrom says who reaches it"
SHUTDOWN_GRACE_MS: "set config.server.shutdownGraceMs instead (the chart checks it against terminationGracePeriodSeconds)"
SHUTDOWN_DELAY_MS: "set shutdownDelaySeconds instead"
SHUTDOWN_SCRAPE_MS: "set config.server.shutdownScrapeMs instead (terminationGracePeriodSeconds is derived from it)"
KEEP_ALIVE_TIMEOUT_MS: "set config.server.keepAliveTimeoutMs instead (the chart checks it against GKE's load balancers)"
NODE_ENV: "remove it: the pods run in production mode"
NODE_EXTRA_CA_CERTS: "set externalRedis.caSecret for a Redis CA instead"
{{- end }}

{{/*
Fails on values naming what the chart sets itself: env and secrets.providerKeys names, config.server
keys, config.redisUrl and config.masterKey, and --maxmemory / --requirepass in redis.args. The schema
refuses them first; these say what to set instead.
*/}}
{{- define "ai-gateway.checkChartOwnedValues" -}}
{{- $owned := include "ai-gateway.chartOwnedEnv" . | fromYaml }}
{{- range $name := keys (.Values.env | default dict) | sortAlpha }}
{{- with get $owned $name }}
{{- fail (printf "env.%s is set by the chart: %s" $name .) }}
{{- end }}
{{- end }}
{{- /* Secrets: env is rendered in plain text into the Deployment (readable with `get deployments`, kept in the release). */}}
{{- $effective := include "ai-gateway.gatewayConfig" . | fromYaml }}
{{- $security := $effective.security | default dict }}
{{- $secretNames := list }}
{{- range $effective.providers | default list }}{{ $secretNames = append $secretNames (.apiKeyEnv | default "") }}{{ end }}
{{- range concat ($security.keys | default list) ($security.adminKeys | default list) }}{{ $secretNames = append $secretNames .keyEnv }}{{ end }}
{{- range $name := keys (.Values.env | default dict) | sortAlpha }}
{{- if or (has $name $secretNames) (hasSuffix "_API_KEY" $name) }}
{{- fail (printf "env.%s holds a key (a provider's apiKeyEnv, a *_API_KEY, or a security.keys / adminKeys keyEnv): env is rendered in plain text into the Deployment; put it in secrets.providerKeys or secrets.existingSecret instead" $name) }}
{{- end }}
{{- end }}
{{- $providerKeysOwned := merge (dict "LOG_LEVEL" "set env.LOG_LEVEL or config.server.logLevel instead") $owned }}
{{- range $name := keys (.Values.secrets.providerKeys | default dict) | sortAlpha }}
{{- with get $providerKeysOwned $name }}
{{- fail (printf "secrets.providerKeys.%s names a variable the chart sets (through envFrom it would override the chart's value): %s" $name .) }}
{{- end }}
{{- end }}
{{- $config := .Values.config | default dict }}
{{- $serverOwned := dict "host" "remove it: the pods listen on 0.0.0.0" "port" "set containerPort instead" "metricsPort" "set metricsPort instead" "metricsHost" "remove it: the ops listener is on 0.0.0.0" "shutdownDelayMs" "set shutdownDelaySeconds instead" }}
{{- range $name := keys ($config.server | default dict) | sortAlpha }}
{{- with get $serverOwned $name }}
{{- fail (printf "config.server.%s is set by the chart: %s" $name .) }}
{{- end }}
{{- end }}
{{- with pick $config "redisUrl" "masterKey" | keys | sortAlpha }}
{{- fail (printf "config.%s is set by the chart: %s" (first .) (get (dict "redisUrl" "set redis.* or externalRedis.url instead" "masterKey" "set secrets.masterKey or secrets.existingSecret instead") (first .))) }}
{{- end }}
{{- with regexFind "(?i)--(maxmemory|requirepass)(\\s|=|$)" .Values.redis.args }}
{{- fail (printf "redis.args (%s): %s is set by the chart: remove it (maxmemory is redis.maxmemoryPercent of redis.resources.limits.memory; requirepass is redis.password)" $.Values.redis.args (trimSuffix "=" (trim .))) }}
{{- end }}
{{- end }}

{{/*
Fails on a literal key in config: the ConfigMap is plain text (readable with `get configmaps`, kept in
every release revision), and the gateway refuses it at start anyway (exit 78): its config holds only
the names of the variables that hold keys (providers[].apiKeyEnv, security.keys[] and adminKeys[]
keyEnv). The credential headers are the gateway's own list (libs/config/src/header-map.ts).
*/}}
{{- define "ai-gateway.checkConfigSecrets" -}}
{{- $config := .Values.config | default dict }}
{{- $instead := "put the key in secrets.providerKeys or secrets.existingSecret and name its variable in" }}
{{- range $i, $provider := $config.providers | default list }}
{{- range $field := list "apiKey" "api_key" }}
{{- if hasKey $provider $field }}
{{- fail (printf "config.providers[%d].%s: a key in config is rendered in plain text into the ConfigMap (and the gateway refuses it): %s config.providers[%d].apiKeyEnv instead" $i $field $instead $i) }}
{{- end }}
{{- end }}
{{- range $name := keys ($provider.headers | default dict) | sortAlpha }}
{{- if has (lower $name) (list "authorization" "proxy-authorization" "x-api-key" "api-key" "x-goog-api-key") }}
{{- fail (printf "config.providers[%d].headers.%s carries a credential: a key in config is rendered in plain text into the ConfigMap (and the gateway refuses the header): %s config.providers[%d].apiKeyEnv instead, which the gateway sends in the provider's own header" $i $name $instead $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $list := list "keys" "adminKeys" }}
{{- range $i, $key := get ($config.security | default dict) $list | default list }}
{{- if hasKey $key "key" }}
{{- fail (printf "config.security.%s[%d].key: a key in config is rendered in plain text into the ConfigMap (and the gateway refuses it): put it in secrets.providerKeys or secrets.existingSecret and name its variable in config.security.%s[%d].keyEnv instead" $list $i $list $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails when labels of the user's for an object (the Grafana dashboard's ConfigMap, the ServiceMonitor)
name a label the chart sets on it: it would be rendered twice, which Kubernetes' decoder refuses at
install ("key ... already set in map").
Usage: include "ai-gateway.checkObjectLabels" (list $ "metrics.serviceMonitor.labels" .Values.metrics.serviceMonitor.labels)
*/}}
{{- define "ai-gateway.checkObjectLabels" -}}
{{- $chartLabels := include "ai-gateway.labels" (index . 0) | fromYaml }}
{{- $where := index . 1 }}
{{- range $key := keys (index . 2 | default dict) | sortAlpha }}
{{- if hasKey $chartLabels $key }}
{{- fail (printf "%s.%s is set by the chart on the same object (it would be rendered twice, which Kubernetes refuses): remove it from %s and use a key of your own" $where $key $where) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails on topologySpread items that set labelSelector or matchLabelKeys: the chart adds both to every
item (the gateway pods of the current rollout), so they would be rendered twice, which Kubernetes'
decoder refuses at install.
*/}}
{{- define "ai-gateway.checkTopologySpread" -}}
{{- range $i, $item := .Values.topologySpread | default list }}
{{- range $key := list "labelSelector" "matchLabelKeys" }}
{{- if hasKey $item $key }}
{{- fail (printf "topologySpread[%d].%s is set by the chart (labelSelector: the gateway pods; matchLabelKeys: [pod-template-hash], so each rollout's pods spread on their own): remove it" $i $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails on the MiniLM embedder, which the image (the repository's Dockerfile) cannot run: onnxruntime-node
is a dev dependency (npm ci --omit=dev) and the model files are outside the build context. The gateway
would start and log that semantic caching is off.
*/}}
{{- define "ai-gateway.checkEmbedder" -}}
{{- $semantic := ((include "ai-gateway.gatewayConfig" . | fromYaml).cache | default dict).semantic | default dict }}
{{- if and $semantic.enabled (eq (toString $semantic.embedder) "minilm") (not $semantic.embeddingModel) }}
{{- fail "config.cache.semantic.embedder=minilm needs onnxruntime-node and the MiniLM model files, which the gateway image does not have (README: source checkouts only, not the container image): semantic caching would be off. Use embedder: use (the default), or an embedding model through a provider (config.cache.semantic.embeddingModel)" }}
{{- end }}
{{- end }}

{{/*
Fails when podLabels or podAnnotations name a key the chart sets on the pods: it would be rendered
twice, which Kubernetes' decoder refuses at install; and were the user's value to win, the pods would
no longer match the Deployment's selector, the Services, the PodDisruptionBudget and the NetworkPolicies.
*/}}
{{- define "ai-gateway.checkPodMetadata" -}}
{{- $labels := merge (include "ai-gateway.labels" . | fromYaml) (include "ai-gateway.selectorLabels" . | fromYaml) }}
{{- range $key := keys (.Values.podLabels | default dict) | sortAlpha }}
{{- if hasKey $labels $key }}
{{- fail (printf "podLabels.%s is set by the chart (the app.kubernetes.io/ labels select the pods for the Deployment, the Services, the PodDisruptionBudget and the NetworkPolicies): remove it from podLabels and use a key of your own" $key) }}
{{- end }}
{{- end }}
{{- range $key := list "checksum/config" "checksum/secret" }}
{{- if hasKey ($.Values.podAnnotations | default dict) $key }}
{{- fail (printf "podAnnotations.%s is set by the chart (it rolls the pods when their config or Secret changes): remove it from podAnnotations" $key) }}
{{- end }}
{{- end }}
{{- end }}
