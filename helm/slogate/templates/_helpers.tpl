{{/* Names and labels shared by every template. */}}

{{- define "slogate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release name, plus the chart name unless the release name contains it. */}}
{{- define "slogate.fullname" -}}
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

{{- define "slogate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slogate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "slogate.labels" -}}
{{ include "slogate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slogate
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "slogate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "slogate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "slogate.tlsSecretName" -}}
{{- printf "%s-tls" (include "slogate.fullname" .) -}}
{{- end -}}

{{/* DNS names of the Service, as clients (API server, Argo Rollouts) dial it. */}}
{{- define "slogate.dnsNames" -}}
{{- $svc := include "slogate.fullname" . -}}
{{- list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) | toYaml -}}
{{- end -}}
