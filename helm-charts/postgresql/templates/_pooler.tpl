{{/*
The pooler's values with its switch and port as the platform declares them: global.pooler
(enabled, port) is set once in the umbrella for this chart and the API's, whose serving pods
connect through the pooler; pooler.enabled and pooler.port apply otherwise.
*/}}
{{- define "postgresql.pooler" -}}
{{- $g := (.Values.global | default dict).pooler | default dict -}}
{{- $switch := dict "enabled" (ternary $g.enabled .Values.pooler.enabled (hasKey $g "enabled")) "port" (int ($g.port | default .Values.pooler.port)) -}}
{{- toYaml (merge $switch (deepCopy .Values.pooler)) -}}
{{- end -}}

{{/* Labels that select the pooler pods. */}}
{{- define "postgresql.poolerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "postgresql.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: pooler
{{- end -}}

{{- define "postgresql.poolerContainerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
pgbouncer.ini: transaction pooling in front of the read-write Service. Server connections per
pooler pod are capped at pooler.poolSize (max_db_connections), the term the connection budget
counts; TLS to the database whenever the server offers it.
*/}}
{{- define "postgresql.poolerIni" -}}
{{- $p := include "postgresql.pooler" . | fromYaml -}}
[databases]
{{ .Values.auth.database }} = host={{ include "postgresql.fullname" . }}.{{ .Release.Namespace }}.svc port={{ .Values.service.port }} dbname={{ .Values.auth.database }}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = {{ int $p.port }}
unix_socket_dir = /var/run/pgbouncer
auth_type = hba
auth_hba_file = /etc/pgbouncer/hba.conf
auth_file = /tmp/pgbouncer/userlist.txt
stats_users = pgbouncer
pool_mode = {{ $p.poolMode }}
max_client_conn = {{ int $p.maxClientConnections }}
default_pool_size = {{ int $p.poolSize }}
max_db_connections = {{ int $p.poolSize }}
min_pool_size = 0
reserve_pool_size = 0
server_tls_sslmode = {{ $p.serverTlsSslmode }}
server_idle_timeout = 600
server_lifetime = 1800
query_wait_timeout = {{ int $p.queryWaitTimeoutSeconds }}
# A failover moves the read-write Service to another member: a connect to the old address must
# fail fast, and the next attempt must follow at once (the default waits 15 s after a failed
# login, which would add 15 s to every failover's outage).
server_connect_timeout = 3
server_login_retry = 1
# A client idle inside a transaction holds its server connection from every other client.
idle_transaction_timeout = {{ int $p.idleTransactionTimeoutSeconds }}
# Session settings the API sends at connect would leak between clients in transaction mode; the
# database role's defaults (roles.application) apply instead.
ignore_startup_parameters = extra_float_digits,statement_timeout,lock_timeout,idle_in_transaction_session_timeout
{{- end -}}

{{/*
Server side of the connection budget: every pooler pod's server connections plus the clients
that bypass the pooler (migrations, backup jobs, drill, heartbeat, exporter) fit in
max_connections minus superuser_reserved_connections (3).
*/}}
{{- define "postgresql.validateConnectionBudget" -}}
{{- $p := include "postgresql.pooler" . | fromYaml -}}
{{- $server := add (mul $p.replicas $p.poolSize) $p.directConnections -}}
{{- $limit := sub .Values.tuning.maxConnections 3 -}}
{{- if gt $server $limit -}}
{{- fail (printf "connection budget: %d pooler pods x pooler.poolSize %d + pooler.directConnections %d = %d exceeds tuning.maxConnections %d minus 3 reserved (%d)" (int $p.replicas) (int $p.poolSize) (int $p.directConnections) (int $server) (int .Values.tuning.maxConnections) (int $limit)) -}}
{{- end -}}
{{- end -}}
