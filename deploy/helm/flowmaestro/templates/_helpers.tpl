{{/* The release's base name. */}}
{{- define "flowmaestro.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; `component` names the part (gateway, scheduler, ...). */}}
{{- define "flowmaestro.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "flowmaestro.selector" . }}
{{- end -}}

{{- define "flowmaestro.selector" -}}
app.kubernetes.io/name: flowmaestro
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "flowmaestro.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.repository .name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{- define "flowmaestro.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "flowmaestro.fullname" .)) -}}
{{- end -}}

{{/* The NATS identities: one user per component, with the permissions of
files/nats-authorization.conf (generated from flowmaestro.runtime.natsauth). */}}
{{- define "flowmaestro.natsIdentities" -}}
{{- list "gateway" "scheduler" "executors" "cli" | toJson -}}
{{- end -}}

{{/* Settings every service reads: the ConfigMap (and `.secretRef`, a Secret of more
variables, when given), then the NATS URL, the component's own NATS identity and the keys.
Takes (dict "root" $ "identity" gateway|scheduler|executors|cli "secretRef" name). */}}
{{- define "flowmaestro.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "flowmaestro.fullname" .root }}-config
  {{- with .secretRef }}
  - secretRef:
      name: {{ . }}
  {{- end }}
env:
  - name: FLOWMAESTRO_NATS_URL
    valueFrom:
      secretKeyRef: {name: {{ include "flowmaestro.secretName" .root }}, key: nats-url}
  - name: FLOWMAESTRO_NATS_USER
    value: {{ required "flowmaestro.env: identity" .identity | quote }}
  - name: FLOWMAESTRO_NATS_PASSWORD
    valueFrom:
      secretKeyRef: {name: {{ include "flowmaestro.secretName" .root }}, key: {{ printf "nats-password-%s" .identity }}}
  - name: FLOWMAESTRO_SECRET_KEYS
    valueFrom:
      secretKeyRef: {name: {{ include "flowmaestro.secretName" .root }}, key: secret-keys}
{{- end -}}

{{/* Pod-level settings every FlowMaestro pod shares: not root, a writable /tmp only. */}}
{{- define "flowmaestro.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: 1Gi}
{{- end -}}

{{- define "flowmaestro.containerCommon" -}}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Liveness and readiness of a process that serves no HTTP: its NATS server answers. */}}
{{- define "flowmaestro.workerProbes" -}}
livenessProbe:
  exec: {command: [python, /app/healthcheck.py]}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  exec: {command: [python, /app/healthcheck.py]}
  periodSeconds: 10
  timeoutSeconds: 5
{{- end -}}
