{{/*
postgresql.conf tuning computed from the container's limits, so a bigger pod gets a bigger
cache without anyone editing settings by hand, and a pod whose worst case does not fit its
memory limit is refused at render time instead of being OOM-killed in production:
  shared_buffers        = memory x sharedBuffersPercent
  effective_cache_size  = memory x effectiveCacheSizePercent
  maintenance_work_mem  = memory / 16 (64 MB .. 2 GB)
  autovacuum_work_mem   = memory / 32 (8 MB .. 1 GB: PostgreSQL 15 uses at most 1 GB)
  wal_buffers           = shared_buffers / 32 (at most 16 MB)
  parallel workers      = CPU limit (cores)
  work_mem              = what the budget leaves, shared by every query node that may run at
                          once (tuning.workMemMB > 0 sets it instead), at least 1 MB
  huge_pages            = off (a pod without a hugepages-2Mi limit gets SIGBUS, not a fallback,
                          on a node that has huge pages; measured neutral where none exist)
The memory budget (postgresql.memoryBudget) and every rule's evidence: docs/postgresql-tuning.md.
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

{{/*
The memory budget as a dict of MB figures (JSON). The worst case is every term at once:
  shared      = shared_buffers + wal_buffers (one shared segment)
  queries     = (max_connections + max_parallel_workers) x work_mem x nodesPerQuery
                x hash_mem_multiplier: work_mem is per sort/hash node, a hash node may use
                hash_mem_multiplier times it, and each parallel worker has its own
  maintenance = autovacuum_max_workers x autovacuum_work_mem
                + maintenanceSessions x maintenance_work_mem (VACUUM, CREATE INDEX, restore)
  backends    = every process (connections, parallel and autovacuum workers, the auxiliary
                processes) x (backendOverheadMB + its page tables for shared memory:
                shared_buffers / 512, 8 bytes per 4 kB page once a backend has touched it all)
*/}}
{{- define "postgresql.memoryBudget" -}}
{{- $t := .Values.tuning -}}
{{- $b := $t.memoryBudget -}}
{{- $mem := include "postgresql.memoryMB" . | atoi -}}
{{- $cores := include "postgresql.cpuCores" . | atoi -}}
{{- $shared := div (mul $mem $t.sharedBuffersPercent) 100 -}}
{{- $walbuf := min 16 (max 1 (div $shared 32)) -}}
{{- $maint := min 2048 (max 64 (div $mem 16)) -}}
{{- $avwork := min 1024 (max 8 (div $mem 32)) -}}
{{- $avworkers := $t.autovacuum.maxWorkers -}}
{{- $processes := add $t.maxConnections $cores $avworkers $b.auxiliaryProcesses -}}
{{- $perBackend := add $b.backendOverheadMB (div (add $shared 511) 512) -}}
{{- $backends := mul $processes $perBackend -}}
{{- $maintenance := add (mul $avworkers $avwork) (mul $b.maintenanceSessions $maint) -}}
{{- $fixed := add $shared $walbuf $maintenance $backends -}}
{{- $nodes := mul (add $t.maxConnections $cores) $b.nodesPerQuery $t.hashMemMultiplier -}}
{{- $target := div (mul $mem (sub 100 $b.headroomPercent)) 100 -}}
{{- $work := $t.workMemMB | int -}}
{{- if le $work 0 -}}
{{- $work = min 64 (max 1 (div (sub $target $fixed) $nodes)) -}}
{{- end -}}
{{- $queries := mul $nodes $work -}}
{{- dict "limit" $mem "cores" $cores "shared" $shared "walBuffers" $walbuf "maintenanceWorkMem" $maint "autovacuumWorkMem" $avwork "workMem" $work "processes" $processes "perBackend" $perBackend "backends" $backends "maintenance" $maintenance "queries" $queries "worstCase" (add $fixed $queries) | toJson -}}
{{- end -}}

{{/* Refuse values whose worst case does not fit the container's memory limit. */}}
{{- define "postgresql.validateMemoryBudget" -}}
{{- $m := include "postgresql.memoryBudget" . | fromJson -}}
{{- if gt (int $m.worstCase) (int $m.limit) -}}
{{- fail (printf "postgresql memory budget: the worst case is %dMB but resources.limits.memory is %dMB (shared_buffers+wal_buffers %dMB, queries %dMB = (%d connections + %d parallel workers) x work_mem %dMB x %d nodes x hash_mem_multiplier %d, maintenance %dMB, %d processes x %dMB overhead = %dMB). Lower tuning.maxConnections (put the pooler in front), tuning.workMemMB or tuning.sharedBuffersPercent, or raise the memory limit." (int $m.worstCase) (int $m.limit) (add $m.shared $m.walBuffers | int) (int $m.queries) (int .Values.tuning.maxConnections) (int $m.cores) (int $m.workMem) (int .Values.tuning.memoryBudget.nodesPerQuery) (int .Values.tuning.hashMemMultiplier) (int $m.maintenance) (int $m.processes) (int $m.perBackend) (int $m.backends)) -}}
{{- end -}}
{{- end -}}

{{- define "postgresql.tuningConf" -}}
{{- $t := .Values.tuning -}}
{{- $m := include "postgresql.memoryBudget" . | fromJson -}}
{{- $cores := int $m.cores -}}
{{- $cache := div (mul (int $m.limit) $t.effectiveCacheSizePercent) 100 -}}
# Computed by the chart from limits: memory={{ $m.limit }}MB cpu={{ $cores }} cores.
# Memory budget, worst case {{ $m.worstCase }}MB of {{ $m.limit }}MB: shared {{ add $m.shared $m.walBuffers }}MB, queries {{ $m.queries }}MB, maintenance {{ $m.maintenance }}MB, backends {{ $m.backends }}MB.
max_connections = {{ $t.maxConnections }}
shared_buffers = {{ $m.shared }}MB
effective_cache_size = {{ $cache }}MB
work_mem = {{ $m.workMem }}MB
hash_mem_multiplier = {{ $t.hashMemMultiplier }}
maintenance_work_mem = {{ $m.maintenanceWorkMem }}MB
autovacuum_work_mem = {{ $m.autovacuumWorkMem }}MB
wal_buffers = {{ $m.walBuffers }}MB
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
jit = {{ ternary "on" "off" $t.jit }}
autovacuum_max_workers = {{ $t.autovacuum.maxWorkers }}
autovacuum_naptime = {{ $t.autovacuum.naptimeSeconds }}s
autovacuum_vacuum_scale_factor = {{ $t.autovacuum.vacuumScaleFactor }}
autovacuum_vacuum_insert_scale_factor = {{ $t.autovacuum.vacuumScaleFactor }}
autovacuum_analyze_scale_factor = {{ $t.autovacuum.analyzeScaleFactor }}
autovacuum_vacuum_cost_limit = {{ $t.autovacuum.vacuumCostLimit }}
{{- end -}}
