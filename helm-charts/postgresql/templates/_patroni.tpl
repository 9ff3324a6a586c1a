{{/* Labels of the database pod template: the standard ones minus helm.sh/chart, so a chart
version bump alone never restarts a member. */}}
{{- define "postgresql.podLabels" -}}
{{- include "postgresql.labels" . | replace (printf "helm.sh/chart: %s\n" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_")) "" }}
{{- end -}}

{{/* Patroni's scope label (dbops.patroni_config.SCOPE_LABEL): Patroni lists members by it. */}}
{{- define "postgresql.patroniScopeLabel" -}}
inventory.example.org/cluster: {{ include "postgresql.fullname" . }}
{{- end -}}

{{/* Priority class of the database pods. */}}
{{- define "postgresql.priorityClassName" -}}
{{- if .Values.priorityClassName -}}
{{- .Values.priorityClassName -}}
{{- else if and .Values.ha.enabled .Values.ha.priorityClass.create -}}
{{- include "postgresql.fullname" . }}-database
{{- end -}}
{{- end -}}

{{/* Environment of the postgresql container under Patroni (read by dbops.patroni_config). */}}
{{- define "postgresql.patroniEnv" -}}
- name: HA_MEMBER_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: HA_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: HA_POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- name: HA_SCOPE
  value: {{ include "postgresql.fullname" . | quote }}
- name: HA_LABELS
  value: {{ include "postgresql.selectorLabels" . | fromYaml | toJson | quote }}
- name: HA_SYNCHRONOUS_MODE
  value: {{ .Values.ha.synchronousMode | quote }}
- name: HA_SYNCHRONOUS_NODE_COUNT
  value: {{ .Values.ha.synchronousNodeCount | quote }}
- name: HA_TTL
  value: {{ .Values.ha.ttl | quote }}
- name: HA_LOOP_WAIT
  value: {{ .Values.ha.loopWait | quote }}
- name: HA_RETRY_TIMEOUT
  value: {{ .Values.ha.retryTimeout | quote }}
- name: HA_MAXIMUM_LAG_BYTES
  value: {{ .Values.ha.maximumLagOnFailoverBytes | int64 | toString | quote }}
- name: HA_API_PORT
  value: {{ .Values.ha.restApiPort | quote }}
# The preStop switchover's budget: half the grace period, the rest is Patroni's shutdown.
- name: HA_SWITCHOVER_TIMEOUT
  value: {{ div .Values.terminationGracePeriodSeconds 2 | quote }}
- name: HA_SUPERUSER_PASSWORD_FILE
  value: /run/secrets/patroni/superuser
- name: HA_REPLICATION_PASSWORD_FILE
  value: /run/secrets/patroni/replication
- name: HA_REWIND_PASSWORD_FILE
  value: /run/secrets/patroni/rewind
{{- end -}}

{{/* Probes through Patroni's REST API. /liveness answers while Patroni's loop runs, whatever
PostgreSQL is doing (crash recovery, a long restore), so it never kills a recovering primary;
/readiness is ready for a primary holding the lock or a replica that replicates. */}}
{{- define "postgresql.patroniProbes" -}}
startupProbe:
  httpGet: {path: /liveness, port: patroni}
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  timeoutSeconds: 5
readinessProbe:
  httpGet: {path: /readiness, port: patroni}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
  timeoutSeconds: 5
livenessProbe:
  httpGet: {path: /liveness, port: patroni}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  timeoutSeconds: 5
{{- end -}}

{{/* Members spread over zones and nodes (only when the release sets no affinity of its own). */}}
{{- define "postgresql.patroniSpread" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ .Values.ha.zoneSpread }}
    labelSelector:
      matchLabels:
        {{- include "postgresql.selectorLabels" . | nindent 8 }}
{{- if not .Values.affinity }}
affinity:
  podAntiAffinity:
    {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "postgresql.selectorLabels" . | fromYaml)) }}
    {{- if eq .Values.ha.nodeAntiAffinity "required" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      {{- list $term | toYaml | nindent 6 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      {{- list (dict "weight" 100 "podAffinityTerm" $term) | toYaml | nindent 6 }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* A container's resources; under Patroni requests equal limits (Guaranteed QoS), so memory
pressure on a node evicts other pods before a database member. Call with (dict "ha" .Values.ha
"resources" <resources>). */}}
{{- define "postgresql.memberResources" -}}
{{- if .ha.enabled -}}
{{- toYaml (dict "requests" .resources.limits "limits" .resources.limits) }}
{{- else -}}
{{- toYaml .resources }}
{{- end -}}
{{- end -}}

{{/* The database pods by name under the headless Service: every member under Patroni, else the
one server. The backup jobs list them as pgBackRest's pg1..pgN hosts and the TLS server's
certificate names each, so a backup reaches whichever member is primary or standby today. */}}
{{- define "postgresql.memberHosts" -}}
{{- $fullname := include "postgresql.fullname" . -}}
{{- $hosts := list -}}
{{- range $i := until (ternary (int .Values.ha.members) 1 .Values.ha.enabled) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s-headless" $fullname $i $fullname) -}}
{{- end -}}
{{- toJson $hosts -}}
{{- end -}}
