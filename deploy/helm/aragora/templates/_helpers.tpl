{{/* Chart name, truncated to 63 characters. */}}
{{- define "aragora.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name when it contains the chart name
("aragora" for `helm install aragora`), so the runbook's
deployment/aragora, svc/aragora and hpa aragora match. */}}
{{- define "aragora.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aragora.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels; app= keeps `kubectl ... -l app=aragora` working. */}}
{{- define "aragora.selectorLabels" -}}
app: {{ include "aragora.fullname" . }}
app.kubernetes.io/name: {{ include "aragora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aragora.labels" -}}
{{ include "aragora.selectorLabels" . }}
helm.sh/chart: {{ include "aragora.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "aragora.secretName" -}}
{{- default (printf "%s-secrets" (include "aragora.fullname" .)) .Values.secrets.name }}
{{- end }}

{{- define "aragora.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aragora.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The shutdown budget the server is configured with (default 25 s). */}}
{{- define "aragora.shutdownTimeout" -}}
{{- $v := index .Values.config "ARAGORA_SHUTDOWN_TIMEOUT_SECONDS" | default 25 }}
{{- $v | int }}
{{- end }}

{{- define "aragora.terminationGracePeriod" -}}
{{- if gt (int .Values.terminationGracePeriodSeconds) 0 }}
{{- .Values.terminationGracePeriodSeconds | int }}
{{- else }}
{{- add (int .Values.preStopSleepSeconds) (include "aragora.shutdownTimeout" . | int) 10 }}
{{- end }}
{{- end }}

{{/* An environment value as a ConfigMap string: whole numbers without an
exponent, everything else as written. */}}
{{- define "aragora.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}
{{- . | int64 | toString }}
{{- else }}
{{- . | toString }}
{{- end }}
{{- end }}
