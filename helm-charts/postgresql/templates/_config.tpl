{{/*
The server configuration, one helper per file of the ConfigMap, so the StatefulSet can checksum
only the settings that need a restart (postgresql.restartChecksum) while the rest is applied by
the reconciler's reload (images/postgresql/dbops/reconcile.py).
*/}}
{{- define "postgresql.mainConf" -}}
hba_file = '/etc/postgresql/pg_hba.conf'
ident_file = '/etc/postgresql/pg_ident.conf'
listen_addresses = '*'
port = 5432
unix_socket_directories = '/var/run/postgresql'
include_dir = 'conf.d'
{{- end -}}

{{- define "postgresql.chartConf" -}}
password_encryption = 'scram-sha-256'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 5000
pg_stat_statements.track = top
track_io_timing = on
idle_in_transaction_session_timeout = {{ .Values.tuning.idleInTransactionSessionTimeoutMs }}
log_min_duration_statement = {{ .Values.tuning.logMinDurationStatementMs }}
log_checkpoints = on
log_lock_waits = on
log_temp_files = 0
log_autovacuum_min_duration = 10000
log_line_prefix = '%m [%p] %q%u@%d '
logging_collector = off
wal_level = replica
{{- range $name, $value := .Values.extraConfig }}
{{ $name }} = {{ $value | quote | replace "\"" "'" }}
{{- end }}
{{- end -}}

{{- define "postgresql.archiveConf" -}}
archive_mode = on
archive_command = 'pgbackrest --config=/tmp/pgbackrest/pgbackrest.conf --stanza={{ .Values.backup.stanza }} archive-push %p'
archive_timeout = {{ .Values.backup.archiveTimeoutSeconds }}
{{- end -}}

{{/*
Per-role defaults (ALTER ROLE ... SET) the reconciler applies to a running server: a backstop
for every session of the role, whatever client opens it. The application's own connections
set tighter values per session; see docs/postgresql-tuning.md "Timeouts".
*/}}
{{- define "postgresql.roleSettings" -}}
{{- $app := .Values.roles.application -}}
{{- $settings := dict
  "statement_timeout" (printf "%d" (int $app.statementTimeoutMs))
  "lock_timeout" (printf "%d" (int $app.lockTimeoutMs))
  "idle_session_timeout" (printf "%d" (int $app.idleSessionTimeoutMs))
  "idle_in_transaction_session_timeout" (printf "%d" (int .Values.tuning.idleInTransactionSessionTimeoutMs)) -}}
{{- dict "roles" (dict .Values.auth.username $settings) | toPrettyJson -}}
{{- end -}}

{{/*
sha256 of the settings that only take effect after a restart (files/restart-parameters.txt,
PostgreSQL 15's pg_settings context 'postmaster'): the StatefulSet's pod template carries it,
so changing one of them rolls the pod, and changing anything else does not (the reconciler
reloads it).
*/}}
{{- define "postgresql.restartChecksum" -}}
{{- $restart := list -}}
{{- range .Files.Lines "files/restart-parameters.txt" -}}
{{- if and . (not (hasPrefix "#" .)) -}}{{- $restart = append $restart (trim .) -}}{{- end -}}
{{- end -}}
{{- $conf := list (include "postgresql.mainConf" .) (include "postgresql.tuningConf" .) (include "postgresql.chartConf" .) -}}
{{- if .Values.backup.enabled -}}{{- $conf = append $conf (include "postgresql.archiveConf" .) -}}{{- end -}}
{{- $kept := list -}}
{{- range splitList "\n" (join "\n" $conf) -}}
{{- $name := trim (first (splitList "=" .)) -}}
{{- if has $name $restart -}}{{- $kept = append $kept (trim .) -}}{{- end -}}
{{- end -}}
{{- join "\n" $kept | sha256sum -}}
{{- end -}}
