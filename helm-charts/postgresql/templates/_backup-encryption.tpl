{{/* Repository encryption (backup.encryption): the pgBackRest passphrase as a file, from Key Vault
through the Secrets Store CSI driver in Azure or from a Secret locally; never an environment
variable, never in the image. Every container that renders a pgbackrest.conf gets the env
variable, the mount and the volume, so archive-push, backups, drills and restores all encrypt. */}}

{{/* The passphrase source: "keyVault" or "secret"; fails unless exactly one is configured. */}}
{{- define "postgresql.cipherSource" -}}
{{- $e := .Values.backup.encryption -}}
{{- if and $e.keyVaultObjectName $e.passphraseSecret -}}
{{- fail "backup.encryption: set keyVaultObjectName (Azure) or passphraseSecret (local), not both" -}}
{{- else if $e.keyVaultObjectName -}}
{{- if not .Values.auth.keyVault.name -}}
{{- fail "backup.encryption.keyVaultObjectName needs auth.keyVault.name (the vault holding the passphrase): on Azure the deploy stage sets it from the Terraform output key_vault_name" -}}
{{- end -}}
keyVault
{{- else if $e.passphraseSecret -}}
secret
{{- else -}}
{{- fail "backup.enabled needs an encrypted repository: set backup.encryption.keyVaultObjectName (Azure Key Vault secret) or backup.encryption.passphraseSecret (local Secret with key `passphrase`)" -}}
{{- end -}}
{{- end -}}

{{/* repo2 shares the passphrase: one Key Vault secret, which Key Vault keeps readable in the
paired region too. */}}
{{- define "postgresql.cipherEnv" -}}
{{- $_ := include "postgresql.cipherSource" . -}}
{{- $file := "/etc/pgbackrest/cipher/passphrase" -}}
- name: BACKUP_CIPHER_PASS_FILE
  value: {{ $file }}
{{- if include "postgresql.repo2Enabled" . }}
- name: BACKUP_REPO2_CIPHER_PASS_FILE
  value: {{ $file }}
{{- end }}
{{- end -}}

{{- define "postgresql.cipherMount" -}}
- name: pgbackrest-cipher
  mountPath: /etc/pgbackrest/cipher
  readOnly: true
{{- end -}}

{{- define "postgresql.cipherVolume" -}}
- name: pgbackrest-cipher
{{- if eq (include "postgresql.cipherSource" .) "keyVault" }}
  csi:
    driver: secrets-store.csi.k8s.io
    readOnly: true
    volumeAttributes:
      secretProviderClass: {{ printf "%s-backup-cipher" (include "postgresql.fullname" .) }}
{{- else }}
  secret:
    secretName: {{ .Values.backup.encryption.passphraseSecret }}
    defaultMode: 0440
    items:
      - key: passphrase
        path: passphrase
{{- end }}
{{- end -}}
