{{/* Names and labels, as `helm create` makes them. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "pier.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: fullnameOverride, or the release name when it already holds the chart name, or
release-chart. Truncated to 63 characters because some Kubernetes name fields are DNS labels.
*/}}
{{- define "pier.fullname" -}}
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

{{- define "pier.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "pier.labels" -}}
helm.sh/chart: {{ include "pier.chart" . }}
{{ include "pier.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pier
{{- end }}

{{/* Labels that select the manager's pods; a Deployment's selector cannot change, so neither may these. */}}
{{- define "pier.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pier.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pier.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name the existing ServiceAccount the manager runs as" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The manager image; the tag defaults to the chart's appVersion. */}}
{{- define "pier.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The pier-server image the manager deploys; the tag defaults to the chart's appVersion too. */}}
{{- define "pier.serverImage" -}}
{{- printf "%s:%s" .Values.serverImage.repository (default .Chart.AppVersion .Values.serverImage.tag) }}
{{- end }}

{{/* The metrics Service's port name: what the ServiceMonitor refers to. */}}
{{- define "pier.metricsPortName" -}}
{{- if .Values.metrics.secure }}https{{ else }}http{{ end }}
{{- end }}

{{/*
Combinations of values that values.schema.json cannot express clearly. Included by the Deployment, so that every
install, upgrade and template fails before anything is applied.
*/}}
{{- define "pier.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: several managers without leader election would all reconcile the same endpoints at once. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled is true but metrics.enabled is false: there would be no metrics to scrape. Set metrics.enabled=true or metrics.serviceMonitor.enabled=false." }}
{{- end }}
{{- if eq (int .Values.metrics.port) 8081 }}
{{- fail "metrics.port is 8081, the port of the manager's health probes: choose another port." }}
{{- end }}
{{- end }}
