{{/* Resource name prefix: the release name (the deploy stage names the release cert-manager). */}}
{{- define "cert-manager.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace whose Issuers and Certificates are served: servedNamespace, else the release's. */}}
{{- define "cert-manager.servedNamespace" -}}
{{- default .Release.Namespace .Values.servedNamespace -}}
{{- end -}}

{{/* Labels that select the controller pods. */}}
{{- define "cert-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Standard labels on every resource. */}}
{{- define "cert-manager.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "cert-manager.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inventory-platform
{{- end -}}

{{/* Image reference; `latest` and empty tags fail. */}}
{{- define "cert-manager.image" -}}
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

{{/* Cross-field rules the schema cannot express. */}}
{{- define "cert-manager.validate" -}}
{{- $le := .Values.leaderElection -}}
{{- if ge (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds) -}}
{{- fail (printf "leaderElection.renewDeadlineSeconds (%d) must be less than leaderElection.leaseDurationSeconds (%d)" (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds)) -}}
{{- end -}}
{{- if ge (int $le.retryPeriodSeconds) (int $le.renewDeadlineSeconds) -}}
{{- fail (printf "leaderElection.retryPeriodSeconds (%d) must be less than leaderElection.renewDeadlineSeconds (%d)" (int $le.retryPeriodSeconds) (int $le.renewDeadlineSeconds)) -}}
{{- end -}}
{{- end -}}
