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

{{- define "ai-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
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

{{- define "ai-gateway.redis.fullname" -}}
{{- printf "%s-redis" (include "ai-gateway.fullname" .) }}
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

{{- define "ai-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Redis URL without credentials: the in-cluster StatefulSet through its headless Service,
or externalRedis.url. Empty when neither is configured (Redis-backed features stay off).
*/}}
{{- define "ai-gateway.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s.%s.svc.cluster.local:%v" (include "ai-gateway.redis.fullname" .) .Release.Namespace .Values.redis.port }}
{{- else }}
{{- .Values.externalRedis.url }}
{{- end }}
{{- end }}

{{/* Port of the Redis the gateway talks to, for the NetworkPolicy. */}}
{{- define "ai-gateway.redisPort" -}}
{{- if .Values.redis.enabled }}
{{- .Values.redis.port }}
{{- else }}
{{- $host := (urlParse .Values.externalRedis.url).host }}
{{- if contains ":" $host }}{{ last (splitList ":" $host) }}{{ else }}6379{{ end }}
{{- end }}
{{- end }}

{{/* The gateway.yaml the pods read: the repository defaults, then values.config, then what the chart owns. */}}
{{- define "ai-gateway.gatewayConfig" -}}
{{- $config := mustMergeOverwrite (fromYaml (.Files.Get "files/gateway.yaml")) (deepCopy .Values.config) }}
{{- $_ := set $config "server" (mustMergeOverwrite (default (dict) $config.server) (dict "host" "0.0.0.0" "port" (int .Values.containerPort))) }}
{{- if and (include "ai-gateway.redisUrl" .) (or .Values.redis.enabled (not .Values.externalRedis.passwordSecret.name)) }}
{{- $_ := set $config "redisUrl" (include "ai-gateway.redisUrl" .) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Grace: preStop pause + the gateway's drain + 10 s for exit, unless set explicitly. */}}
{{- define "ai-gateway.terminationGracePeriodSeconds" -}}
{{- $config := fromYaml (include "ai-gateway.gatewayConfig" .) }}
{{- $needed := add (int .Values.preStopSleepSeconds) (div (add (int $config.server.shutdownGraceMs) 999) 1000) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed 10 }}
{{- else if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + shutdownGraceMs/1000 (%v)" .Values.terminationGracePeriodSeconds $needed) }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}
