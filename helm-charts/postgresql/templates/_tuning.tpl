{{/*
postgresql.conf tuning computed from the container's limits, so a bigger pod gets a bigger
cache without anyone editing settings by hand:
  shared_buffers        = memory x sharedBuffersPercent
  effective_cache_size  = memory x effectiveCacheSizePercent
  work_mem              = memory x 25% / maxConnections (at least 4 MB)
  maintenance_work_mem  = memory / 16 (at most 2 GB)
  wal_buffers           = shared_buffers / 32 (at most 16 MB)
  parallel workers      = CPU limit (cores)
  huge_pages            = off (a pod without a hugepages-2Mi limit gets SIGBUS, not a fallback,
                          on a node that has huge pages; measured neutral where none exist)
Every rule and its A/B evidence: docs/postgresql-tuning.md.
*/}}
{{- define "postgresql.memoryMB" -}}
{{- $mem := toString .Values.resources.limits.memory -}}
{{- if hasSuffix "Gi" $mem -}}
{{- mul (trimSuffix "Gi" $mem | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $mem -}}
{{- trimSuffix "Mi" $mem | atoi -}}
{{- else -}}
{{- fail (printf "resources.limits.memory %q must be in Mi or Gi" $mem) -}}
{{- end -}}
{{- end -}}

{{- define "postgresql.cpuCores" -}}
{{- $cpu := toString .Values.resources.limits.cpu -}}
{{- if hasSuffix "m" $cpu -}}
{{- max 1 (div (trimSuffix "m" $cpu | atoi) 1000) -}}
{{- else -}}
{{- max 1 ($cpu | atoi) -}}
{{- end -}}
{{- end -}}

{{- define "postgresql.tuningConf" -}}
{{- $t := .Values.tuning -}}
{{- $mem := include "postgresql.memoryMB" . | atoi -}}
{{- $cores := include "postgresql.cpuCores" . | atoi -}}
{{- $shared := div (mul $mem $t.sharedBuffersPercent) 100 -}}
{{- $cache := div (mul $mem $t.effectiveCacheSizePercent) 100 -}}
{{- $work := max 4 (div (div $mem 4) $t.maxConnections) -}}
{{- $maint := min 2048 (max 64 (div $mem 16)) -}}
{{- $walbuf := min 16 (max 1 (div $shared 32)) -}}
# Computed by the chart from limits: memory={{ $mem }}MB cpu={{ $cores }} cores.
max_connections = {{ $t.maxConnections }}
shared_buffers = {{ $shared }}MB
effective_cache_size = {{ $cache }}MB
work_mem = {{ $work }}MB
maintenance_work_mem = {{ $maint }}MB
wal_buffers = {{ $walbuf }}MB
min_wal_size = {{ $t.minWalSizeMB }}MB
max_wal_size = {{ $t.maxWalSizeMB }}MB
checkpoint_timeout = {{ $t.checkpointTimeoutMinutes }}min
checkpoint_completion_target = 0.9
wal_compression = {{ $t.walCompression }}
random_page_cost = {{ $t.randomPageCost }}
effective_io_concurrency = {{ $t.effectiveIoConcurrency }}
max_worker_processes = {{ max 8 $cores }}
max_parallel_workers = {{ $cores }}
max_parallel_workers_per_gather = {{ max 1 (div $cores 2) }}
max_parallel_maintenance_workers = {{ max 1 (div $cores 2) }}
huge_pages = off
{{- end -}}
