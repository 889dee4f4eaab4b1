// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package render

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

const (
	// FieldOwner is the field manager of everything the operator applies.
	FieldOwner = "pier-operator"

	// AnnotationRestartHash on the pod template changes, and so rolls the pods, only when the configuration changes
	// in a way pier-server cannot apply while running. See RestartHash.
	AnnotationRestartHash = "transfer.pier.dev/restart-hash"
	// ConfigKey is the key of the configuration file in the config Secret.
	ConfigKey = "config.yaml"
	// PasswordSourcesKey is the key of the config Secret that holds the operator's record of the Secret versions
	// the served password hashes were made from (users.PasswordSources), which pier-server ignores.
	PasswordSourcesKey = "password-sources"

	// Container ports: the ports pier runs pier-server on (serverconfig's), which portable mode uses too. They are
	// unprivileged, so the server runs as a non-root user without capabilities; the Service maps the well-known
	// ports (22, 21, 990) onto them. Passive ports are the same in the pod and the Service, because the server
	// announces them to clients.
	SFTPContainerPort   = serverconfig.SFTPPort
	FTPContainerPort    = serverconfig.FTPPort
	FTPSContainerPort   = serverconfig.ImplicitFTPSPort // implicit FTPS
	HealthContainerPort = serverconfig.HealthPort

	// Where the pod's volumes are mounted.
	ConfigMountPath   = "/etc/pier/config"    // the config Secret: ConfigKey
	HostKeysMountPath = "/etc/pier/host-keys" // the host-key Secret, one file per key
	TLSMountPath      = "/etc/pier/tls"       // the kubernetes.io/tls Secret: tls.crt and tls.key
	DataMountPath     = "/srv/pier"           // the storage root, holding every user's home directory

	// ServerUID is the user and group pier-server runs as (the distroless "nonroot" user), and the fsGroup that
	// owns its volumes.
	ServerUID = 65532
)

// Label keys and values of the operator's children and server pods. The cache selects children by
// LabelManagedBy=ManagedByValue, so a child without it is invisible to the operator.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelEndpoint names the TransferEndpoint a child object or server pod belongs to.
	LabelEndpoint = "transfer.pier.dev/endpoint"
	// LabelUser names the TransferUser a generated password Secret belongs to, when the name fits a label value.
	LabelUser = "transfer.pier.dev/user"

	// ManagedByValue is the LabelManagedBy value of every child object.
	ManagedByValue = "pier-operator"
	appName        = "pier-server"
	componentName  = "file-transfer"
)

// Port names, shared by the container and the Service (whose target ports refer to them by name). The names of
// the control ports are also the URL schemes and protocol names of the endpoint's status. A port name is at most
// 15 characters; "pasv-65535" is the longest we make.
const (
	PortNameSFTP   = "sftp"
	PortNameFTP    = "ftp"
	PortNameFTPS   = "ftps" // implicit FTPS
	PortNameHealth = "health"
	// PortNamePassivePrefix and the port number name each FTP passive port: pasv-30000.
	PortNamePassivePrefix = "pasv-"
)

// Names holds the name of every child object of one endpoint, and of the Secrets and claim it uses but may not
// own. The reconciler uses it to get, apply and delete children; the render functions use it so each name is
// decided in exactly one place.
type Names struct {
	// Deployment, Service and PodDisruptionBudget are named after the endpoint.
	Deployment, Service, PodDisruptionBudget string
	// ConfigSecret holds the rendered pier-server configuration: <name>-config.
	ConfigSecret string
	// HostKeysSecret holds the SSH host keys: spec.sftp.hostKeys.secretRef.name, else the generated
	// <name>-host-keys; "" when SFTP is off.
	HostKeysSecret string
	// GeneratedHostKeys is true when HostKeysSecret is the one the operator generates and owns.
	GeneratedHostKeys bool
	// TLSSecret holds the FTPS certificate: spec.ftp.tls.secretRef.name, else <name>-tls (written by cert-manager)
	// when issuerRef is set, else "".
	TLSSecret string
	// Certificate is the cert-manager Certificate, <name>, when issuerRef is set; else "".
	Certificate string
	// ClaimName is the PersistentVolumeClaim holding the files: storage.persistentVolumeClaim.claimName, else
	// <name>-data for a volumeClaimTemplate, else "" (emptyDir).
	ClaimName string
	// OwnedClaim is true when the operator creates ClaimName from the volumeClaimTemplate.
	OwnedClaim bool
	// ServiceAccount, Role and RoleBinding let the server pod read its config Secret: <name>-server.
	ServiceAccount, Role, RoleBinding string
}

// NamesFor returns the names of the endpoint's children.
func NamesFor(te *v1alpha1.TransferEndpoint) Names {
	n := Names{
		Deployment:          te.Name,
		Service:             te.Name,
		PodDisruptionBudget: te.Name,
		ConfigSecret:        te.Name + "-config",
		ServiceAccount:      te.Name + "-server",
		Role:                te.Name + "-server",
		RoleBinding:         te.Name + "-server",
	}

	if sftp := te.Spec.SFTP; sftp != nil {
		if sftp.HostKeys != nil && sftp.HostKeys.SecretRef.Name != "" {
			n.HostKeysSecret = sftp.HostKeys.SecretRef.Name
		} else {
			n.HostKeysSecret = generatedHostKeysSecretName(te)
			n.GeneratedHostKeys = true
		}
	}

	if ftp := te.Spec.FTP; ftp != nil {
		switch {
		case ftp.TLS.SecretRef != nil:
			n.TLSSecret = ftp.TLS.SecretRef.Name
		case ftp.TLS.IssuerRef != nil:
			n.TLSSecret = te.Name + "-tls"
			n.Certificate = te.Name
		}
	}

	switch s := te.Spec.Storage; {
	case s.PersistentVolumeClaim != nil:
		n.ClaimName = s.PersistentVolumeClaim.ClaimName
	case s.VolumeClaimTemplate != nil:
		n.ClaimName = te.Name + "-data"
		n.OwnedClaim = true
	}
	return n
}

// generatedHostKeysSecretName is the name of the host-key Secret the operator generates when the endpoint names
// none of its own.
func generatedHostKeysSecretName(te *v1alpha1.TransferEndpoint) string {
	return te.Name + "-host-keys"
}

// Labels are the labels of every child object, and of the server pods.
func Labels(te *v1alpha1.TransferEndpoint) map[string]string {
	labels := SelectorLabels(te)
	labels[LabelComponent] = componentName
	labels[LabelManagedBy] = ManagedByValue
	return labels
}

// SelectorLabels are the labels that select the endpoint's pods, for the Deployment, the Service and the
// PodDisruptionBudget. A Deployment's selector cannot change, so this set must never grow or shrink.
func SelectorLabels(te *v1alpha1.TransferEndpoint) map[string]string {
	return map[string]string{
		LabelName:     appName,
		LabelInstance: te.Name,
		LabelEndpoint: te.Name,
	}
}

// OwnerReference makes the endpoint the controller of a child object: Kubernetes' garbage collector deletes the
// child with the endpoint, and the operator is woken when the child changes.
func OwnerReference(te *v1alpha1.TransferEndpoint) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion.String(),
		Kind:               "TransferEndpoint",
		Name:               te.Name,
		UID:                te.UID,
		Controller:         new(true),
		BlockOwnerDeletion: new(true),
	}
}

// objectMeta is the metadata every child object starts from: its name, the endpoint's namespace, Labels and the
// owner reference.
func objectMeta(te *v1alpha1.TransferEndpoint, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       te.Namespace,
		Labels:          Labels(te),
		OwnerReferences: []metav1.OwnerReference{OwnerReference(te)},
	}
}

// typeMeta sets the apiVersion and kind, so that a rendered object describes itself (in golden files, and for
// server-side apply, which needs both).
func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
