{{/* The chart's name. */}}
{{- define "sroll.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, used for every object the chart creates. */}}
{{- define "sroll.fullname" -}}
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

{{- define "sroll.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sroll.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sroll.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "sroll.labels" -}}
helm.sh/chart: {{ include "sroll.chart" . }}
{{ include "sroll.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sroll
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sroll.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sroll.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator's permissions: the rules of config/rbac/role.yaml, which
`make generate` derives from the RBAC markers in internal/controller and
copies to files/operator-role.yaml. Never edit them here.
*/}}
{{- define "sroll.operatorRules" -}}
{{- $role := .Files.Get "files/operator-role.yaml" | fromYaml }}
{{- if not $role.rules }}
{{- fail "files/operator-role.yaml has no rules: run make generate" }}
{{- end }}
{{- toYaml $role.rules }}
{{- end }}
