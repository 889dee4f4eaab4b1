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
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// containerName is the name of the one container of the server pod.
const containerName = "pier-server"

// Volume names.
const (
	volumeConfig   = "config"
	volumeHostKeys = "host-keys"
	volumeTLS      = "tls"
	volumeData     = "data"
	volumeTmp      = "tmp"
)

// secretDefaultMode lets the owner and the group read the mounted Secret files and nobody else. The files belong
// to the pod's fsGroup, ServerUID, so the server can read its keys.
const secretDefaultMode int32 = 0o440

// Probe settings. The server answers /readyz once every listener is bound, and /healthz while it runs.
const (
	readinessPeriodSeconds   = 5
	livenessPeriodSeconds    = 10
	livenessFailureThreshold = 3
)

// Resources of the server container when spec.podTemplate.resources is empty: enough to schedule it anywhere, and a
// memory limit that contains a leak without constraining normal transfers (which stream and buffer little). No CPU
// limit, so transfers are not throttled on an idle node.
var (
	defaultCPURequest    = resource.MustParse("50m")
	defaultMemoryRequest = resource.MustParse("64Mi")
	defaultMemoryLimit   = resource.MustParse("512Mi")
)

// tmpSizeLimit bounds /tmp, the one writable directory besides the storage: the root file system is read-only.
var tmpSizeLimit = resource.MustParse("64Mi")

// serverContainer is the pier-server container.
func serverContainer(te *v1alpha1.TransferEndpoint, in DeploymentInputs) corev1.Container {
	names := NamesFor(te)
	return corev1.Container{
		Name:            containerName,
		Image:           in.Image,
		ImagePullPolicy: in.ImagePullPolicy,
		// No command: the image's entrypoint is pier-server.
		Args: []string{
			"serve",
			"--config", path.Join(ConfigMountPath, ConfigKey),
			"--config-secret", names.ConfigSecret,
			"--log-format", "json",
		},
		Env: []corev1.EnvVar{{
			// The namespace of the config Secret the server watches.
			Name: "POD_NAMESPACE",
			ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			},
		}},
		Ports:          containerPorts(te),
		ReadinessProbe: httpProbe("/readyz", readinessPeriodSeconds, 3),
		LivenessProbe:  httpProbe("/healthz", livenessPeriodSeconds, livenessFailureThreshold),
		Resources:      containerResources(te),
		VolumeMounts:   volumeMounts(te),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			ReadOnlyRootFilesystem:   new(true),
			RunAsNonRoot:             new(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// containerPorts lists the ports the server listens on: the protocol listeners, every passive port and health.
func containerPorts(te *v1alpha1.TransferEndpoint) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	if sftpEnabled(te) {
		ports = append(ports, tcpContainerPort(PortNameSFTP, SFTPContainerPort))
	}
	if ftpEnabled(te) {
		ports = append(ports, tcpContainerPort(PortNameFTP, FTPContainerPort))
		if _, ok := implicitPort(te); ok {
			ports = append(ports, tcpContainerPort(PortNameFTPS, FTPSContainerPort))
		}
	}
	for _, p := range passivePorts(te) {
		ports = append(ports, tcpContainerPort(passivePortName(p), p))
	}
	ports = append(ports, tcpContainerPort(PortNameHealth, HealthContainerPort))
	return ports
}

func tcpContainerPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

// passivePortName names a passive port after its number, pasv-30000.
func passivePortName(port int32) string {
	return PortNamePassivePrefix + strconv.Itoa(int(port))
}

// httpProbe probes path on the health port. Every number is set, Kubernetes' defaults included: the reconciler
// compares the rendered Deployment with the live one, and a 0 left for the API server to default would look like
// drift on every reconcile.
func httpProbe(urlPath string, periodSeconds, failureThreshold int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: urlPath, Port: intstr.FromString(PortNameHealth), Scheme: corev1.URISchemeHTTP},
		},
		PeriodSeconds:    periodSeconds,
		FailureThreshold: failureThreshold,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
	}
}

// containerResources are spec.podTemplate.resources, or the defaults when the user set none.
func containerResources(te *v1alpha1.TransferEndpoint) corev1.ResourceRequirements {
	r := te.Spec.PodTemplate.Resources
	if len(r.Requests) > 0 || len(r.Limits) > 0 || len(r.Claims) > 0 {
		return *r.DeepCopy()
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    defaultCPURequest.DeepCopy(),
			corev1.ResourceMemory: defaultMemoryRequest.DeepCopy(),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: defaultMemoryLimit.DeepCopy(),
		},
	}
}

// volumes are the pod's volumes: the configuration, the host keys (SFTP), the certificate (FTPS), the storage and
// a small /tmp.
func volumes(te *v1alpha1.TransferEndpoint) []corev1.Volume {
	names := NamesFor(te)
	vols := []corev1.Volume{
		{
			Name: volumeConfig,
			// Every key: the Secret holds ConfigKey, or ConfigKey.gz for a config too large for it plain, and
			// pier-server reads whichever file is there.
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName:  names.ConfigSecret,
				DefaultMode: new(secretDefaultMode),
			}},
		},
	}
	if names.HostKeysSecret != "" {
		vols = append(vols, secretVolume(volumeHostKeys, names.HostKeysSecret))
	}
	if names.TLSSecret != "" {
		vols = append(vols, secretVolume(volumeTLS, names.TLSSecret))
	}
	vols = append(vols,
		corev1.Volume{Name: volumeData, VolumeSource: dataVolumeSource(te, names)},
		corev1.Volume{Name: volumeTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			SizeLimit: new(tmpSizeLimit.DeepCopy()),
		}}},
	)
	return vols
}

func secretVolume(name, secretName string) corev1.Volume {
	return corev1.Volume{
		Name: name,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  secretName,
			DefaultMode: new(secretDefaultMode),
		}},
	}
}

// dataVolumeSource is the storage: the claim, or spec.storage.emptyDir (also when no source is set at all, the
// CRD's default).
func dataVolumeSource(te *v1alpha1.TransferEndpoint, names Names) corev1.VolumeSource {
	if names.ClaimName != "" {
		return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: names.ClaimName,
		}}
	}
	emptyDir := &corev1.EmptyDirVolumeSource{}
	if te.Spec.Storage.EmptyDir != nil {
		emptyDir = te.Spec.Storage.EmptyDir.DeepCopy()
	}
	return corev1.VolumeSource{EmptyDir: emptyDir}
}

// volumeMounts mount every volume of volumes. The Secrets are mounted as directories, never with subPath: a subPath
// mount is not updated when the Secret changes, and the server relies on those updates to reload.
func volumeMounts(te *v1alpha1.TransferEndpoint) []corev1.VolumeMount {
	names := NamesFor(te)
	mounts := []corev1.VolumeMount{{Name: volumeConfig, MountPath: ConfigMountPath, ReadOnly: true}}
	if names.HostKeysSecret != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: volumeHostKeys, MountPath: HostKeysMountPath, ReadOnly: true})
	}
	if names.TLSSecret != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: volumeTLS, MountPath: TLSMountPath, ReadOnly: true})
	}
	return append(mounts,
		corev1.VolumeMount{Name: volumeData, MountPath: DataMountPath},
		corev1.VolumeMount{Name: volumeTmp, MountPath: "/tmp"},
	)
}
