{{/* Chart name, overridable. */}}
{{- define "inventory-api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: release-chart, unless one already contains the other (release
"inventory" + chart "inventory-api" gives "inventory-api", not "inventory-inventory-api"). */}}
{{- define "inventory-api.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else if hasPrefix (printf "%s-" .Release.Name) $name -}}
{{- $name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount of the API pods: serviceAccount.name, else the resource name prefix. */}}
{{- define "inventory-api.serviceAccountName" -}}
{{- default (include "inventory-api.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* ServiceAccount of the migrations hook Job: migrations.serviceAccountName, else <fullname>-migrations. */}}
{{- define "inventory-api.migrationsServiceAccountName" -}}
{{- default (printf "%s-migrations" (include "inventory-api.fullname" .) | trunc 63 | trimSuffix "-") .Values.migrations.serviceAccountName -}}
{{- end -}}

{{/* Labels shared by the API pods and the migration pods. */}}
{{- define "inventory-api.baseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "inventory-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels that select the serving pods. */}}
{{- define "inventory-api.selectorLabels" -}}
{{ include "inventory-api.baseSelectorLabels" . }}
app.kubernetes.io/component: api
{{- end -}}

{{/* Standard labels on every resource. */}}
{{- define "inventory-api.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "inventory-api.baseSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | toString | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inventory-platform
{{- end -}}

{{/* Image reference; `latest` and empty tags fail. */}}
{{- define "inventory-api.image" -}}
{{- $img := .Values.image -}}
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

{{/* The monitoring target as YAML (provider, api, scraper): the platform declares it once in
global.monitoring for both charts; this chart's own monitoring.provider/scraper apply otherwise. */}}
{{- define "inventory-api.monitoringTarget" -}}
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
{{- define "inventory-api.monitoringEnabled" -}}
{{- if .Values.monitoring.enabled -}}
{{- $t := include "inventory-api.monitoringTarget" . | fromYaml -}}
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

{{/* The rule groups of rules/inventory-api.yaml, its placeholders filled: namespace and api
from the release, the rest from monitoring.ruleParameters over the file's parameters. */}}
{{- define "inventory-api.ruleGroups" -}}
{{- $raw := .Files.Get "rules/inventory-api.yaml" -}}
{{- $defaults := (fromYaml $raw).parameters -}}
{{- range $k, $v := .Values.monitoring.ruleParameters -}}
{{- if not (hasKey $defaults $k) -}}
{{- fail (printf "monitoring.ruleParameters.%s: rules/inventory-api.yaml has no such parameter" $k) -}}
{{- end -}}
{{- end -}}
{{- $params := merge (dict "namespace" .Release.Namespace "api" (include "inventory-api.fullname" .)) .Values.monitoring.ruleParameters $defaults -}}
{{- $text := $raw -}}
{{- range $k, $v := $params -}}
{{- $text = replace (printf "${%s}" $k) (toString $v) $text -}}
{{- end -}}
{{- if contains "${" $text -}}
{{- fail "rules/inventory-api.yaml uses a placeholder that is neither a parameter nor namespace/api" -}}
{{- end -}}
{{- $src := fromYaml $text -}}
{{- toYaml $src.groups -}}
{{- end -}}

{{/* The pooler the serving pods connect through, as YAML (enabled, host, port): the platform
declares its switch and port once in global.pooler for both charts; database.pooler applies
otherwise. */}}
{{- define "inventory-api.pooler" -}}
{{- $g := (.Values.global | default dict).pooler | default dict -}}
{{- $p := .Values.database.pooler -}}
{{- $enabled := ternary $g.enabled $p.enabled (hasKey $g "enabled") -}}
{{- toYaml (dict "enabled" $enabled "host" (tpl $p.host .) "port" (int ($g.port | default $p.port))) -}}
{{- end -}}

{{/* Where the serving pods connect, as YAML (host, port): the pooler when it runs, else the
database. */}}
{{- define "inventory-api.servingDatabase" -}}
{{- $pooler := include "inventory-api.pooler" . | fromYaml -}}
{{- if $pooler.enabled -}}
{{- toYaml (dict "host" $pooler.host "port" $pooler.port) -}}
{{- else -}}
{{- toYaml (dict "host" (tpl .Values.database.host .) "port" (int .Values.database.port)) -}}
{{- end -}}
{{- end -}}

{{/* Environment of the API and migration containers. Call with (dict "ctx" . "serving" BOOL): the
serving pods connect through the pooler when it runs, the migrations Job always directly. */}}
{{- define "inventory-api.env" -}}
{{- $ctx := .ctx -}}
{{- $db := $ctx.Values.database -}}
{{- $target := dict "host" (tpl $db.host $ctx) "port" (int $db.port) -}}
{{- if .serving }}{{ $target = include "inventory-api.servingDatabase" $ctx | fromYaml }}{{ end -}}
- name: PORT
  value: {{ $ctx.Values.containerPort | quote }}
- name: DATABASE_URL
  value: {{ printf "postgresql+pg8000://%s@%s:%d/%s" $db.user $target.host (int $target.port) $db.name | quote }}
- name: DATABASE_PASSWORD_FILE
  value: /run/secrets/database/password
{{- if and .serving (include "inventory-api.pooler" $ctx | fromYaml).enabled }}
- name: DB_TRANSACTION_POOLER
  value: "true"
{{- end }}
{{- include "inventory-api.authEnv" $ctx }}
{{- range $ctx.Values.extraEnv }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy egress rule to the DNS pods in kube-system. */}}
{{- define "inventory-api.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dnsPodLabels | nindent 10 }}
  ports:
    {{- range .Values.networkPolicy.dnsPorts }}
    - port: {{ . }}
      protocol: UDP
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* NetworkPolicy egress rule to the database pods on the database port. */}}
{{- define "inventory-api.databaseEgress" -}}
- to:
    - podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.databasePodLabels | nindent 10 }}
  ports:
    - port: {{ .Values.database.port }}
      protocol: TCP
{{- end -}}

{{/* Entra ID's issuer and key set URLs for auth.tenantId, unless auth.issuer/jwksUrl name another issuer. */}}
{{- define "inventory-api.authIssuer" -}}
{{- .Values.auth.issuer | default (printf "https://login.microsoftonline.com/%s/v2.0" .Values.auth.tenantId) -}}
{{- end -}}
{{- define "inventory-api.authJwksUrl" -}}
{{- .Values.auth.jwksUrl | default (printf "https://login.microsoftonline.com/%s/discovery/v2.0/keys" .Values.auth.tenantId) -}}
{{- end -}}

{{/* The AUTH_* and RATE_LIMIT_* variables (inventory_api.auth.settings); AUTH_MODE is always explicit. */}}
{{- define "inventory-api.authEnv" -}}
{{- $auth := .Values.auth }}
- name: RATE_LIMIT_PER_SECOND
  value: {{ .Values.rateLimit.requestsPerSecond | quote }}
- name: RATE_LIMIT_BURST
  value: {{ .Values.rateLimit.burst | quote }}
- name: AUTH_MODE
  value: {{ $auth.mode | quote }}
{{- if eq $auth.mode "jwt" }}
- name: AUTH_ISSUER
  value: {{ include "inventory-api.authIssuer" . | quote }}
- name: AUTH_JWKS_URL
  value: {{ include "inventory-api.authJwksUrl" . | quote }}
- name: AUTH_JWKS_ALLOW_HTTP
  value: {{ $auth.allowHttpJwks | quote }}
- name: AUTH_AUDIENCE
  value: {{ $auth.audience | quote }}
- name: AUTH_READ_ROLE
  value: {{ $auth.roles.read | quote }}
- name: AUTH_WRITE_ROLE
  value: {{ $auth.roles.write | quote }}
- name: AUTH_PUBLIC_READS
  value: {{ $auth.publicReads | quote }}
- name: AUTH_LEEWAY_SECONDS
  value: {{ $auth.leewaySeconds | quote }}
{{- end }}
{{- end -}}

{{/* Volume carrying the database password file. Call with (dict "ctx" . "spc" NAME). */}}
{{- define "inventory-api.passwordVolume" -}}
- name: database-password
{{- if .ctx.Values.database.keyVault.enabled }}
  csi:
    driver: secrets-store.csi.k8s.io
    readOnly: true
    volumeAttributes:
      secretProviderClass: {{ .spc }}
{{- else }}
  secret:
    secretName: {{ .ctx.Values.database.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .ctx.Values.database.secretKey }}
        path: password
{{- end }}
{{- end -}}

{{/* Restricted container security context. */}}
{{- define "inventory-api.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod security context. */}}
{{- define "inventory-api.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* SecretProviderClass body for Key Vault. Call with (dict "ctx" . "name" NAME "hook" BOOL). */}}
{{- define "inventory-api.secretProviderClass" -}}
{{- $kv := .ctx.Values.database.keyVault -}}
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "inventory-api.labels" .ctx | nindent 4 }}
  {{- if .hook }}
  annotations:
    helm.sh/hook: {{ .ctx.Values.migrations.hook }}
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation
  {{- end }}
spec:
  provider: azure
  parameters:
    usePodIdentity: "false"
    clientID: {{ .ctx.Values.serviceAccount.clientId | quote }}
    keyvaultName: {{ required "database.keyVault.name is required with database.keyVault.enabled: on Azure the deploy stage sets it from the Terraform output key_vault_name" $kv.name | quote }}
    tenantId: {{ $kv.tenantId | quote }}
    objects: |
      array:
        - |
          objectName: {{ $kv.objectName }}
          objectType: secret
          objectAlias: password
{{- end -}}

{{/* Consistency checks the schema cannot express. */}}
{{- define "inventory-api.validate" -}}
{{- $replicasSet := not (kindIs "invalid" .Values.replicaCount) -}}
{{- if and .Values.autoscaling.enabled $replicasSet -}}
{{- fail (printf "replicaCount (%v) is set while autoscaling.enabled is true, and the HorizontalPodAutoscaler would silently override it: size the API with autoscaling.minReplicas/maxReplicas and leave replicaCount unset (null), or set autoscaling.enabled=false" .Values.replicaCount) -}}
{{- end -}}
{{- if and (not .Values.autoscaling.enabled) (not $replicasSet) -}}
{{- fail "autoscaling.enabled is false, so replicaCount is required (at least 2, so one pod can be lost)" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled .Values.podDisruptionBudget.enabled -}}
{{- if le (int .Values.autoscaling.minReplicas) (int .Values.podDisruptionBudget.minAvailable) -}}
{{- fail (printf "autoscaling.minReplicas (%v) must be greater than podDisruptionBudget.minAvailable (%v), or no pod could ever be evicted" .Values.autoscaling.minReplicas .Values.podDisruptionBudget.minAvailable) -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.autoscaling.enabled) .Values.podDisruptionBudget.enabled -}}
{{- if le (int .Values.replicaCount) (int .Values.podDisruptionBudget.minAvailable) -}}
{{- fail (printf "replicaCount (%v) must be greater than podDisruptionBudget.minAvailable (%v)" .Values.replicaCount .Values.podDisruptionBudget.minAvailable) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) -}}
{{- fail "autoscaling.maxReplicas must be >= autoscaling.minReplicas" -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- range .Values.ingress.hosts -}}
{{- range .paths -}}
{{- if hasPrefix (trimSuffix "/" .) "/metrics" -}}
{{- fail (printf "ingress path %q would route /metrics publicly; metrics are scraped inside the cluster only" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.auth.mode "jwt" -}}
{{- if not .Values.auth.audience -}}
{{- fail "auth.mode=jwt needs auth.audience, the API app registration's client id (the pipeline passes it from the Terraform output api_client_id; on the local target, from the local token issuer's values)" -}}
{{- end -}}
{{- if not (or .Values.auth.tenantId (and .Values.auth.issuer .Values.auth.jwksUrl)) -}}
{{- fail "auth.mode=jwt needs auth.tenantId (the pipeline passes it from the Terraform output tenant_id), or auth.issuer and auth.jwksUrl for another issuer" -}}
{{- end -}}
{{- if and (hasPrefix "http://" (include "inventory-api.authJwksUrl" .)) (not .Values.auth.allowHttpJwks) -}}
{{- fail "auth.jwksUrl is http://: set auth.allowHttpJwks only for an in-cluster test issuer" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.database.keyVault.enabled (not (and .Values.serviceAccount.clientId .Values.database.keyVault.tenantId)) -}}
{{- fail "database.keyVault.enabled needs serviceAccount.clientId (workload identity) and database.keyVault.tenantId (the pipeline passes them from Terraform outputs)" -}}
{{- end -}}
{{- end -}}

{{/* True when ingress.limits are rendered as Traefik Middlewares: an Ingress of class traefik on a
cluster that serves Traefik's CRD API (its kubernetescrd provider). */}}
{{- define "inventory-api.traefikLimits" -}}
{{- if and .Values.ingress.enabled (eq .Values.ingress.className "traefik") (.Capabilities.APIVersions.Has "traefik.io/v1alpha1") -}}
true
{{- end -}}
{{- end -}}

{{/* ingress.limits as Traefik Middlewares ({items: [{name, spec}]}, in the order the router applies
them), the counterparts of the nginx annotations: limit-connections, limit-rps with its burst
multiplier, proxy-body-size. Each limit is per client address (Traefik's default source). */}}
{{- define "inventory-api.traefikMiddlewares" -}}
{{- $fullname := include "inventory-api.fullname" . -}}
{{- $limits := .Values.ingress.limits -}}
{{- $bodyBytes := include "inventory-api.bodySizeBytes" . | atoi -}}
items:
  - name: {{ $fullname }}-in-flight
    spec:
      inFlightReq:
        amount: {{ $limits.connections }}
  - name: {{ $fullname }}-rate-limit
    spec:
      rateLimit:
        average: {{ $limits.requestsPerSecond }}
        burst: {{ mul $limits.requestsPerSecond $limits.burstMultiplier }}
        period: 1s
  - name: {{ $fullname }}-body-size
    spec:
      # Bodies are held in memory up to the limit (never spilled to disk); larger ones get 413.
      buffering:
        maxRequestBodyBytes: {{ $bodyBytes }}
        memRequestBodyBytes: {{ $bodyBytes }}
{{- end -}}

{{/* ingress.limits.bodySize (nginx's size syntax: bytes, or a k/m/g suffix) in bytes. */}}
{{- define "inventory-api.bodySizeBytes" -}}
{{- $size := .Values.ingress.limits.bodySize -}}
{{- $unit := regexFind "[kmg]$" $size -}}
{{- $factor := get (dict "" 1 "k" 1024 "m" 1048576 "g" 1073741824) $unit -}}
{{- mul (trimSuffix $unit $size | atoi) $factor -}}
{{- end -}}
