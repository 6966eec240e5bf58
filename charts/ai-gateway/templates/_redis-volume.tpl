{{/*
sizeLimit of Redis' /data emptyDir (persistence off): the ephemeral-storage limit less /tmp's 64Mi
and 64Mi for the container's logs, which count against the same limit. Redis writes nothing there
with persistence off; the limit keeps anything that does from getting the pod evicted unexplained.
*/}}
{{- define "ai-gateway.redis.dataSizeLimit" -}}
{{- $resources := .Values.redis.resources }}
{{- $limit := required "redis.resources.limits.ephemeral-storage is required with redis.persistence.enabled=false: /data is then an emptyDir counted against it" (get ($resources.limits | default dict) "ephemeral-storage") }}
{{- $mi := sub (int64 (divf (float64 (include "ai-gateway.quantity" $limit)) 1048576)) 128 }}
{{- if lt $mi 64 }}
{{- fail (printf "redis.resources.limits.ephemeral-storage (%v) must be at least 192Mi with redis.persistence.enabled=false: /tmp and the logs take 128Mi of it" $limit) }}
{{- end }}
{{- printf "%dMi" $mi }}
{{- end }}

{{/*
A StatefulSet's volumeClaimTemplates cannot change: an upgrade that changes redis.persistence
would fail on the API server with "updates to statefulset spec for fields other than ... are
forbidden". Compared with the live StatefulSet (lookup finds nothing under helm template or on
install) to fail first with what to do instead. The size by value: the API server keeps a quantity in
canonical form (8192Mi as 8Gi, 1.5Gi as 1536Mi, 10000M as 10G), never as the value was written.
*/}}
{{- define "ai-gateway.redis.checkVolumeClaims" -}}
{{- $name := include "ai-gateway.redis.fullname" . }}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace $name }}
{{- if $live }}
{{- $persistence := .Values.redis.persistence }}
{{- $claim := first ($live.spec.volumeClaimTemplates | default (list dict)) }}
{{- $before := dict "enabled" (not (empty $claim)) }}
{{- if $claim }}
{{- $_ := set $before "size" $claim.spec.resources.requests.storage }}
{{- $_ := set $before "storageClassName" ($claim.spec.storageClassName | default "") }}
{{- end }}
{{- $procedure := printf "a StatefulSet's volumeClaimTemplates cannot change. Keep the value, or: (1) to resize, kubectl -n %s patch pvc data-%s-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"<size>\"}}}}' (the storage class must allow expansion); (2) kubectl -n %s delete statefulset %s --cascade=orphan (Redis keeps running); (3) helm upgrade with the new value (a new storage class or enabled=false starts Redis on a new, empty volume). See the chart README, \"Changing redis.persistence\"" .Release.Namespace $name .Release.Namespace $name }}
{{- range $key := list "enabled" "size" "storageClassName" }}
{{- $changed := ne (toString (get $before $key)) (toString (get $persistence $key)) }}
{{- if and $changed (eq $key "size") }}
{{- $changed = not (include "ai-gateway.sameQuantity" (list (get $before $key) (get $persistence $key))) }}
{{- end }}
{{- if and (hasKey $before $key) $changed }}
{{- fail (printf "redis.persistence.%s changed (%v -> %v) but %s" $key (get $before $key) (get $persistence $key) $procedure) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
