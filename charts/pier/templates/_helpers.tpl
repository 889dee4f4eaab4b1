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

{{/*
An image reference from an image value and the chart: repository@digest when a digest is set (the digest alone
says which image; a tag beside it would only be ignored by the runtime), else repository:tag, the tag defaulting to
the chart's appVersion. Called with (list .Values.image .Chart).
*/}}
{{- define "pier.imageRef" -}}
{{- $image := index . 0 }}
{{- $chart := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* The manager image. */}}
{{- define "pier.image" -}}
{{- include "pier.imageRef" (list .Values.image .Chart) }}
{{- end }}

{{/* The pier-server image the manager deploys. */}}
{{- define "pier.serverImage" -}}
{{- include "pier.imageRef" (list .Values.serverImage .Chart) }}
{{- end }}

{{/* The metrics Service's port name: what the ServiceMonitor refers to. */}}
{{- define "pier.metricsPortName" -}}
{{- if .Values.metrics.secure }}https{{ else }}http{{ end }}
{{- end }}

{{/*
Which of podDisruptionBudget's minAvailable and maxUnavailable is set: "minAvailable", "maxUnavailable", "both" or
"". A value is unset when null (a values file's way of removing a default) or "" (--set's); 0 is a value.
*/}}
{{- define "pier.pdbField" -}}
{{- $set := list }}
{{- range $field := list "minAvailable" "maxUnavailable" }}
{{- $v := get $.Values.podDisruptionBudget $field }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{- $set = append $set $field }}
{{- end }}
{{- end }}
{{- if gt (len $set) 1 }}both{{ else }}{{ join "" $set }}{{ end }}
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
{{- $pdb := include "pier.pdbField" . }}
{{- if eq $pdb "both" }}
{{- fail "podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set: a PodDisruptionBudget takes one of them. Set the other to \"\"." }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (eq $pdb "") }}
{{- fail "podDisruptionBudget.enabled is true but neither podDisruptionBudget.minAvailable nor podDisruptionBudget.maxUnavailable is set: set one, or podDisruptionBudget.enabled=false." }}
{{- end }}
{{- if eq (int .Values.metrics.port) 8081 }}
{{- fail "metrics.port is 8081, the port of the manager's health probes: choose another port." }}
{{- end }}
{{- end }}
