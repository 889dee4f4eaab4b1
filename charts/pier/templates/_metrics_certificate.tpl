{{/* Names shared by metrics-certificate.yaml, the Deployment and the ServiceMonitor (metrics.certificate). */}}

{{/* The metrics Service's in-cluster DNS name: what the metrics certificate is for and the ServiceMonitor checks. */}}
{{- define "pier.metricsServerName" -}}
{{- printf "%s-metrics.%s.svc" (include "pier.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The Secret cert-manager writes the metrics certificate into. */}}
{{- define "pier.metricsCertSecret" -}}
{{- printf "%s-metrics-cert" (include "pier.fullname" .) }}
{{- end }}
