{{/* Chart name, overridable. */}}
{{- define "postgresql.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: release-chart, unless the release name already contains the chart name. */}}
{{- define "postgresql.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the database pod (stable across upgrades). */}}
{{- define "postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ include "postgresql.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: database
{{- end -}}

{{/* Standard labels on every resource. */}}
{{- define "postgresql.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "postgresql.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inventory-platform
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Image reference from {registry, repository, tag, digest}; `latest` and empty tags fail. Call with (dict "image" .Values.image). */}}
{{- define "postgresql.image" -}}
{{- $img := .image -}}
{{- if or (not $img.tag) (eq (toString $img.tag) "latest") -}}
{{- fail (printf "image %s needs a pinned tag (not empty, not latest)" $img.repository) -}}
{{- end -}}
{{- $repo := $img.repository -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $img.repository }}{{ end -}}
{{- if $img.digest -}}
{{- printf "%s:%s@%s" $repo (toString $img.tag) $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (toString $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount of the backup jobs (and of the database pod when backup is enabled). */}}
{{- define "postgresql.backupServiceAccountName" -}}
{{- default (printf "%s-backup" (include "postgresql.fullname" .) | trunc 63 | trimSuffix "-") .Values.backup.serviceAccount.name -}}
{{- end -}}

{{/* ServiceAccount of the database pod. */}}
{{- define "postgresql.serviceAccountName" -}}
{{- if .Values.backup.enabled -}}
{{- include "postgresql.backupServiceAccountName" . -}}
{{- else if .Values.serviceAccount.create -}}
{{- default (include "postgresql.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/* The monitoring target as YAML (provider, api, scraper): the platform declares it once in
global.monitoring for both charts; this chart's own monitoring.provider/scraper apply otherwise. */}}
{{- define "postgresql.monitoringTarget" -}}
{{- $g := (.Values.global | default dict).monitoring | default dict -}}
{{- $provider := $g.provider | default .Values.monitoring.provider -}}
{{- $apis := dict "prometheus-operator" "monitoring.coreos.com/v1" "azure-managed" "azmonitoring.coreos.com/v1" -}}
{{- if not (hasKey $apis $provider) -}}
{{- fail (printf "monitoring.provider %q: choose prometheus-operator or azure-managed" $provider) -}}
{{- end -}}
{{- $scraper := deepCopy ($g.scraper | default .Values.monitoring.scraper) -}}
{{- /* An empty label value drops that label: helm ignores null over a global's default. */ -}}
{{- $labels := dict -}}
{{- range $k, $v := $scraper.podLabels -}}
{{- if $v -}}{{- $_ := set $labels $k $v -}}{{- end -}}
{{- end -}}
{{- $_ := set $scraper "podLabels" $labels -}}
{{- toYaml (dict "provider" $provider "api" (get $apis $provider) "scraper" $scraper) -}}
{{- end -}}

{{/* "true" when the monitoring objects are rendered: monitoring.enabled and the provider's API is
served (or forceCreate, for rendering without a cluster). A missing API fails the render. */}}
{{- define "postgresql.monitoringEnabled" -}}
{{- if .Values.monitoring.enabled -}}
{{- $t := include "postgresql.monitoringTarget" . | fromYaml -}}
{{- if not (or .Values.monitoring.forceCreate (.Capabilities.APIVersions.Has $t.api)) -}}
{{- if eq $t.provider "azure-managed" -}}
{{- fail (printf "monitoring.enabled: the cluster serves no %s API; enable Azure Managed Prometheus on the AKS cluster (monitor_metrics), or set monitoring.enabled=false" $t.api) -}}
{{- else -}}
{{- fail (printf "monitoring.enabled: the cluster serves no %s API; install the Prometheus Operator CRDs first, choose another monitoring.provider, or set monitoring.enabled=false" $t.api) -}}
{{- end -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* The rule parameters the chart's values decide (name: value and the value it comes from),
so an alert's threshold cannot drift from the setting it watches. */}}
{{- define "postgresql.valueRuleParameters" -}}
{{- $members := int .Values.ha.members -}}
{{- $pooler := include "postgresql.pooler" . | fromYaml -}}
ha_members: {{ $members | toString | quote }}
patroni_lag_bytes: {{ .Values.ha.maximumLagOnFailoverBytes | int64 | toString | quote }}
sync_standbys_expected: {{ min (int .Values.ha.synchronousNodeCount) (sub $members 1) | toString | quote }}
pooler_pool_size: {{ int $pooler.poolSize | toString | quote }}
{{- end -}}

{{/* The rule groups of rules/postgresql.yaml, its placeholders filled: namespace and database
from the release, those of postgresql.valueRuleParameters from the values, the rest from
monitoring.ruleParameters over the file's parameters. */}}
{{- define "postgresql.ruleGroups" -}}
{{- $raw := .Files.Get "rules/postgresql.yaml" -}}
{{- $defaults := (fromYaml $raw).parameters -}}
{{- $fromValues := include "postgresql.valueRuleParameters" . | fromYaml -}}
{{- range $k, $v := .Values.monitoring.ruleParameters -}}
{{- if not (hasKey $defaults $k) -}}
{{- fail (printf "monitoring.ruleParameters.%s: rules/postgresql.yaml has no such parameter" $k) -}}
{{- end -}}
{{- if hasKey $fromValues $k -}}
{{- fail (printf "monitoring.ruleParameters.%s: set from the chart's values (ha.members, ha.synchronousNodeCount, ha.maximumLagOnFailoverBytes, pooler.poolSize), not here" $k) -}}
{{- end -}}
{{- end -}}
{{- $params := merge (dict "namespace" .Release.Namespace "database" (include "postgresql.fullname" .)) $fromValues .Values.monitoring.ruleParameters $defaults -}}
{{- $text := $raw -}}
{{- range $k, $v := $params -}}
{{- $text = replace (printf "${%s}" $k) (toString $v) $text -}}
{{- end -}}
{{- if contains "${" $text -}}
{{- fail "rules/postgresql.yaml uses a placeholder that is neither a parameter nor namespace/database" -}}
{{- end -}}
{{- $src := fromYaml $text -}}
{{- $groups := $src.groups -}}
{{- if .Values.backup.enabled -}}
{{- $groups = concat $groups $src.backup_groups -}}
{{- if include "postgresql.repo2Enabled" . -}}
{{- $groups = concat $groups $src.repo2_backup_groups -}}
{{- end -}}
{{- end -}}
{{- if .Values.ha.enabled -}}
{{- $groups = concat $groups $src.ha_groups -}}
{{- if and (ne (toString .Values.ha.synchronousMode) "off") (gt (int $fromValues.sync_standbys_expected) 0) -}}
{{- $groups = concat $groups $src.ha_sync_groups -}}
{{- end -}}
{{- end -}}
{{- if (include "postgresql.pooler" . | fromYaml).enabled -}}
{{- $groups = concat $groups $src.pooler_groups -}}
{{- end -}}
{{- toYaml $groups -}}
{{- end -}}

{{/* Non-empty when the pgBackRest TLS Certificates are rendered: backups, the TLS server and
certManager on. cert-manager.io/v1 must then be served (or forceCreate): a missing API fails the
render instead of leaving the database waiting for a Secret nobody issues. */}}
{{- define "postgresql.certManagerEnabled" -}}
{{- $b := .Values.backup -}}
{{- if and $b.enabled $b.tlsServer.enabled $b.tlsServer.certManager.enabled -}}
{{- if not (or $b.tlsServer.certManager.forceCreate (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
{{- fail "backup.tlsServer.certManager.enabled: the cluster serves no cert-manager.io/v1 API; install cert-manager before this release, or supply the certificates as Secrets (backup.tlsServer.certManager.enabled=false with backup.tlsServer.certificateSecret and clientCertificateSecret)" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* Password source check: exactly one of existingSecret or keyVault. */}}
{{- define "postgresql.validatePassword" -}}
{{- if and .Values.auth.existingSecret .Values.auth.keyVault.enabled -}}
{{- fail "auth: set either auth.existingSecret or auth.keyVault.enabled, not both" -}}
{{- end -}}
{{- if not (or .Values.auth.existingSecret .Values.auth.keyVault.enabled) -}}
{{- fail "auth: the password must come from auth.existingSecret or auth.keyVault (never inline)" -}}
{{- end -}}
{{- if and .Values.auth.keyVault.enabled (not (and .Values.auth.keyVault.tenantId .Values.auth.keyVault.clientId)) -}}
{{- fail "auth.keyVault.tenantId and auth.keyVault.clientId are required with auth.keyVault.enabled (the pipeline passes them from Terraform outputs)" -}}
{{- end -}}
{{- end -}}

{{/* pgBackRest settings as environment (names read by images/postgresql/dbops/pgbackrest_conf.py,
which renders /tmp/pgbackrest/pgbackrest.conf at start). Secrets never appear here: the local
storage key comes from a Secret; in Azure the image turns the workload identity into a SAS. */}}
{{- define "postgresql.backupEnv" -}}
{{- $b := .Values.backup -}}
- name: BACKUP_CONFIG
  value: /tmp/pgbackrest/pgbackrest.conf
- name: PGBACKREST_CONFIG
  value: /tmp/pgbackrest/pgbackrest.conf
- name: BACKUP_STANZA
  value: {{ $b.stanza | quote }}
{{- $_ := required "backup.azure.account is required with backup.enabled: on Azure the deploy stage sets it from the Terraform output backup_storage_account_name" $b.azure.account }}
{{ include "postgresql.repoEnv" (dict "prefix" "BACKUP_" "azure" $b.azure "keyType" (ternary "shared" "sas" (not (empty $b.local.storageKeySecret)))) }}
{{- if include "postgresql.repo2Enabled" . }}
{{ include "postgresql.repoEnv" (dict "prefix" "BACKUP_REPO2_" "azure" $b.repo2.azure "keyType" "sas") }}
- name: BACKUP_REPO2_AZURE_CLIENT_ID
  value: {{ $b.repo2.clientId | quote }}
{{- end }}
- name: BACKUP_REPO_PATH
  value: {{ $b.repoPath | quote }}
- name: BACKUP_RETENTION_FULL
  value: {{ $b.retention.full | quote }}
- name: BACKUP_RETENTION_DIFF
  value: {{ $b.retention.diff | quote }}
- name: BACKUP_SPOOL_PATH
  value: /var/spool/pgbackrest
- name: BACKUP_ARCHIVE_QUEUE_MAX
  value: {{ printf "%dMiB" (include "postgresql.archiveQueueMiB" . | atoi) | quote }}
- name: BACKUP_PG_SOCKET
  value: /var/run/postgresql
- name: BACKUP_TLS_SERVER
  value: {{ $b.tlsServer.enabled | quote }}
- name: BACKUP_TLS_PORT
  value: {{ $b.tlsServer.port | quote }}
- name: BACKUP_TLS_CLIENT_CN
  value: {{ $b.tlsServer.clientCommonName | quote }}
- name: BACKUP_TLS_DIR
  value: /etc/pgbackrest/tls
{{- if $b.local.storageCASecret }}
- name: BACKUP_STORAGE_CA_FILE
  value: /etc/pgbackrest/storage/ca.crt
{{- end }}
{{- if $b.local.storageKeySecret }}
- name: BACKUP_AZURE_KEY_FILE
  value: /etc/pgbackrest/storage/key
{{- end }}
{{ include "postgresql.cipherEnv" . }}
{{- end -}}


{{/* One repository's storage settings under the names the image reads (dbops.common.repo_env):
BACKUP_AZURE_* for repo1, BACKUP_REPO2_AZURE_* for repo2. Call with (dict "prefix" "BACKUP_" or
"BACKUP_REPO2_", "azure" the repository's values, "keyType" shared or sas). */}}
{{- define "postgresql.repoEnv" -}}
{{- $a := .azure -}}
- name: {{ .prefix }}AZURE_ACCOUNT
  value: {{ $a.account | quote }}
- name: {{ .prefix }}AZURE_CONTAINER
  value: {{ $a.container | quote }}
- name: {{ .prefix }}AZURE_ENDPOINT
  value: {{ $a.endpoint | quote }}
- name: {{ .prefix }}AZURE_URI_STYLE
  value: {{ $a.uriStyle | quote }}
- name: {{ .prefix }}AZURE_KEY_TYPE
  value: {{ .keyType | quote }}
{{- with $a.storageHost }}
- name: {{ $.prefix }}AZURE_STORAGE_HOST
  value: {{ . | quote }}
{{- end }}
{{- with $a.storagePort }}
- name: {{ $.prefix }}AZURE_STORAGE_PORT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* "true" when the second repository (backup.repo2, the paired region's) is configured: its
account is set. It is Azure only (a SAS minted with its own identity), so it needs both
workload identities and no local storage key. */}}
{{- define "postgresql.repo2Enabled" -}}
{{- $b := .Values.backup -}}
{{- if and $b.enabled $b.repo2.azure.account -}}
{{- if not $b.repo2.clientId -}}
{{- fail "backup.repo2.azure.account needs backup.repo2.clientId: the second repository's SAS is minted with its own identity (the pipeline passes the Terraform output backup_repo2_identity_client_id)" -}}
{{- end -}}
{{- if not $b.serviceAccount.clientId -}}
{{- fail "backup.repo2 needs backup.serviceAccount.clientId: the pods get the federated token that repo2's identity trusts only through workload identity" -}}
{{- end -}}
{{- if $b.local.storageKeySecret -}}
{{- fail "backup.repo2 is Azure only (a workload-identity SAS); the local environment with backup.local.storageKeySecret runs one repository: leave backup.repo2.azure.account empty" -}}
{{- end -}}
{{- if eq $b.repo2.azure.account $b.azure.account -}}
{{- fail (printf "backup.repo2.azure.account %q is repo1's account: the second repository must be the paired region's own account" $b.repo2.azure.account) -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* The local storage volume mount (backup.local.*Secret: Azurite's key and CA, as files, never
environment variables), for every container that talks to the repository. Empty in Azure. */}}
{{- define "postgresql.storageLocalMount" -}}
{{- if or .Values.backup.local.storageKeySecret .Values.backup.local.storageCASecret -}}
- name: storage-local
  mountPath: /etc/pgbackrest/storage
  readOnly: true
{{- end -}}
{{- end -}}

{{/* The local storage volume: `key` from storageKeySecret, `ca.crt` from storageCASecret. */}}
{{- define "postgresql.storageLocalVolume" -}}
{{- $l := .Values.backup.local -}}
{{- if or $l.storageKeySecret $l.storageCASecret -}}
- name: storage-local
  projected:
    defaultMode: 0440
    sources:
      {{- with $l.storageKeySecret }}
      - secret:
          name: {{ . }}
          items:
            - key: key
              path: key
      {{- end }}
      {{- with $l.storageCASecret }}
      - secret:
          name: {{ . }}
          items:
            - key: ca.crt
              path: ca.crt
      {{- end }}
{{- end -}}
{{- end -}}

{{/*
archive-push-queue-max in MiB: backup.archiveQueuePercent of the data volume. WAL that waits for
the repository accumulates in pg_wal on that volume; past this limit pgBackRest drops it (the
database keeps running, point-in-time recovery across the gap is lost) rather than let the
volume fill and stop the database. Sized from the volume, the limit grows with it instead of
cutting an outage short at a fixed 4 GiB. The data and max_wal_size must keep at least half.
*/}}
{{- define "postgresql.archiveQueueMiB" -}}
{{- $size := toString .Values.persistence.size -}}
{{- $volume := 0 -}}
{{- if hasSuffix "Ti" $size -}}{{- $volume = mul (trimSuffix "Ti" $size | atoi) 1048576 -}}
{{- else if hasSuffix "Gi" $size -}}{{- $volume = mul (trimSuffix "Gi" $size | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $size -}}{{- $volume = trimSuffix "Mi" $size | atoi -}}
{{- else -}}{{- fail (printf "persistence.size %q must be in Mi, Gi or Ti" $size) -}}
{{- end -}}
{{- $queue := div (mul $volume .Values.backup.archiveQueuePercent) 100 -}}
{{- if gt (add $queue .Values.tuning.maxWalSizeMB) (div $volume 2) -}}
{{- fail (printf "WAL budget: archive queue %dMiB (backup.archiveQueuePercent %d%% of persistence.size %s) plus tuning.maxWalSizeMB %d exceed half the volume (%dMiB); lower either or grow the volume" $queue (int .Values.backup.archiveQueuePercent) $size (int .Values.tuning.maxWalSizeMB) (div $volume 2)) -}}
{{- end -}}
{{- $queue -}}
{{- end -}}

{{/* A ServiceMonitor scraping /metrics on the named `ports` of the Services labelled `selector`,
in the monitoring target's API group.
Call with (dict "ctx" . "name" NAME "selector" LABELS "ports" (list "metrics" ...)). */}}
{{- define "postgresql.serviceMonitor" -}}
{{- $t := include "postgresql.monitoringTarget" .ctx | fromYaml -}}
apiVersion: {{ $t.api }}
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "postgresql.labels" .ctx | nindent 4 }}
    app.kubernetes.io/component: metrics
    {{- with .ctx.Values.monitoring.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- if eq $t.provider "azure-managed" }}
  # The managed scraper drops series beyond these limits (its documented custom-resource template).
  labelLimit: 63
  labelNameLengthLimit: 511
  labelValueLengthLimit: 1023
  {{- end }}
  selector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  endpoints:
    {{- range .ports }}
    - port: {{ . }}
      path: /metrics
      interval: {{ $.ctx.Values.monitoring.interval }}
      scrapeTimeout: 10s
    {{- end }}
{{- end -}}
