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
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// The golden cases: realistic endpoints written as the API server returns them, every CRD default filled in.

// testImage is the pier-server image of every case.
const testImage = "ghcr.io/pier-dev/pier-server:v0.1.0"

// A bcrypt hash (cost 10) of "change-me", and public keys whose private halves were thrown away; the same values as
// internal/serverconfig/testdata/example.yaml.
const (
	testPasswordHash = "$2a$10$q4/yJ4EHtTcJrj.GFl7gouehDy1lE16HGZ/8EHyNiU6s/xV0EClf."
	testKeyAlice     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1c7zLW9r6BORocz1SsEbjZK4JFG+EoSLC/UzzcQWS alice@laptop"
	testKeyCI        = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCTs772MJ6wQPqJ+YbUuKaB7uI7DA/KD0A4SkRXuhiluIeW2CeifvmJe/AfCuzQpQOV3M6Edv2sooyvtoM+QUHQ= ci@build-runner"
	testKeyAuditor   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWEDEjTpHNYtcqK8Y6ZEVsiPOGJ4J38QEORXMAZWGNm auditor@example.com"
)

// generatedHostKeyNames are the keys of a host-key Secret the operator generates.
var generatedHostKeyNames = []string{"ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key"}

// goldenCase is one endpoint and what the reconciler would pass along with it.
type goldenCase struct {
	name             string
	endpoint         *v1alpha1.TransferEndpoint
	users            []serverconfig.User
	hostKeyNames     []string
	passiveAddresses []string
	imagePullPolicy  corev1.PullPolicy
	// podDefaults are the operator's --endpoint-defaults.
	podDefaults PodDefaults
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:         "sftp-minimal",
			endpoint:     sftpMinimal(),
			users:        []serverconfig.User{userAlice(), userCIBot()},
			hostKeyNames: generatedHostKeyNames,
		},
		{
			name:         "partners",
			endpoint:     partners(),
			users:        []serverconfig.User{userAlice(), userBob()},
			hostKeyNames: generatedHostKeyNames,
			// A ClusterIP Service has no load balancer: the reconciler announces the cluster IP.
			passiveAddresses: []string{"10.96.41.7"},
		},
		{
			name:             "ftp-nodeport",
			endpoint:         ftpNodePort(),
			users:            []serverconfig.User{userBob(), userCarol()},
			passiveAddresses: []string{"ftp.example.com"},
			imagePullPolicy:  corev1.PullIfNotPresent,
		},
		{
			name:     "sftp-pvc",
			endpoint: sftpPVC(),
			users:    []serverconfig.User{userAuditor(), userCIBot()},
			// Unsorted on purpose: the configuration lists them sorted.
			hostKeyNames: []string{"ssh_host_rsa_key", "ssh_host_ed25519_key"},
		},
		{
			name:             "replicated",
			endpoint:         replicated(),
			users:            []serverconfig.User{userAlice(), userBob()},
			hostKeyNames:     generatedHostKeyNames,
			passiveAddresses: []string{"203.0.113.10"},
		},
		{
			name:         "dual-stack",
			endpoint:     dualStack(),
			users:        []serverconfig.User{userAlice(), userBob()},
			hostKeyNames: generatedHostKeyNames,
			// A dual-stack load balancer, IPv6 first: the configuration lists IPv4 first, one per family.
			passiveAddresses: PassiveAddresses("", []corev1.LoadBalancerIngress{{IP: "2001:db8::7"}, {IP: "203.0.113.7"}}),
		},
		{
			// The operator's defaults under an endpoint that sets some of the fields itself: its tolerations
			// replace the default ones, its pull secret is added to the default one, and the nodeSelector and
			// priorityClassName it leaves empty come from the defaults.
			name:         "endpoint-defaults",
			endpoint:     withOwnScheduling(sftpMinimal()),
			users:        []serverconfig.User{userAlice()},
			hostKeyNames: generatedHostKeyNames,
			podDefaults:  platformDefaults(),
		},
		{
			name:             "ipv6-only",
			endpoint:         ipv6Only(),
			users:            []serverconfig.User{userBob()},
			passiveAddresses: PassiveAddresses("", []corev1.LoadBalancerIngress{{IP: "2001:db8::9"}}),
		},
	}
}

// platformDefaults are a platform team's --endpoint-defaults: a registry credential, a dedicated node pool and a
// priority class.
func platformDefaults() PodDefaults {
	return PodDefaults{
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-mirror"}},
		Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "transfer",
			Effect: corev1.TaintEffectNoSchedule}},
		NodeSelector:      map[string]string{"node.example.com/pool": "transfer"},
		PriorityClassName: "transfer-critical",
	}
}

// withOwnScheduling gives te a pull secret of its own (one the defaults have too, and one they do not) and a
// toleration of its own.
func withOwnScheduling(te *v1alpha1.TransferEndpoint) *v1alpha1.TransferEndpoint {
	te.Name = "team-a"
	te.Spec.PodTemplate.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "team-a-registry"}, {Name: "registry-mirror"}}
	te.Spec.PodTemplate.Tolerations = []corev1.Toleration{{Key: "team-a", Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoSchedule}}
	return te
}

// endpointMeta is the metadata of an endpoint read from the API server, as far as rendering uses it.
func endpointMeta(name, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "transfer", UID: types.UID(uid), Generation: 1}
}

// defaultLimits are the limits the CRD defaults to.
func defaultLimits() v1alpha1.LimitsSpec {
	return v1alpha1.LimitsSpec{
		IdleTimeout:      &metav1.Duration{Duration: 5 * time.Minute},
		MaxLoginFailures: new(int32(5)),
		BanDuration:      &metav1.Duration{Duration: 15 * time.Minute},
	}
}

func defaultAuthMethods() []v1alpha1.SFTPAuthMethod {
	return []v1alpha1.SFTPAuthMethod{v1alpha1.SFTPAuthPassword, v1alpha1.SFTPAuthPublicKey}
}

// sftpMinimal is `spec: {sftp: {}}` after defaulting.
func sftpMinimal() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("dropbox", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e01"),
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP:            &v1alpha1.SFTPSpec{Port: 22, AuthMethods: defaultAuthMethods()},
			Service:         v1alpha1.ServiceSpec{Type: "ClusterIP"},
			Storage:         v1alpha1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			Replicas:        new(int32(1)),
			Limits:          defaultLimits(),
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
		},
	}
}

// partners is config/samples/transfer_v1alpha1_transferendpoint.yaml after defaulting.
func partners() *v1alpha1.TransferEndpoint {
	limits := defaultLimits()
	limits.MaxConnectionsPerIP = 20
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("partners", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e02"),
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP: &v1alpha1.SFTPSpec{Port: 22, AuthMethods: defaultAuthMethods()},
			FTP: &v1alpha1.FTPSpec{
				Port: 21,
				TLS: v1alpha1.FTPTLSSpec{
					Mode:                v1alpha1.FTPTLSRequired,
					ImplicitPort:        new(int32(990)),
					IssuerRef:           &v1alpha1.IssuerReference{Name: "pier-demo-ca", Kind: "Issuer", Group: "cert-manager.io"},
					DNSNames:            []string{"localhost"},
					RequireSessionReuse: new(true),
					MinVersion:          "1.2",
				},
				Passive: v1alpha1.PassiveSpec{PortRange: v1alpha1.PortRange{Start: 30000, End: 30019}},
			},
			Service:         v1alpha1.ServiceSpec{Type: "ClusterIP"},
			Storage:         v1alpha1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			Replicas:        new(int32(1)),
			Limits:          limits,
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
		},
	}
}

// ftpNodePort is config/samples/transfer_v1alpha1_transferendpoint_ftp_nodeport.yaml after defaulting.
func ftpNodePort() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("legacy-ftp", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e03"),
		Spec: v1alpha1.TransferEndpointSpec{
			FTP: &v1alpha1.FTPSpec{
				Port: 21,
				TLS: v1alpha1.FTPTLSSpec{
					Mode:                v1alpha1.FTPTLSOptional,
					SecretRef:           &v1alpha1.LocalObjectReference{Name: "legacy-ftp-tls"},
					RequireSessionReuse: new(true),
					MinVersion:          "1.2",
				},
				Passive: v1alpha1.PassiveSpec{
					PortRange: v1alpha1.PortRange{Start: 30100, End: 30109},
					Address:   "ftp.example.com",
				},
			},
			Service: v1alpha1.ServiceSpec{Type: "NodePort"},
			Storage: v1alpha1.StorageSpec{VolumeClaimTemplate: &v1alpha1.VolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("10Gi"),
					}},
				},
			}},
			Replicas:        new(int32(1)),
			Limits:          defaultLimits(),
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
		},
	}
}

// sftpPVC is config/samples/transfer_v1alpha1_transferendpoint_sftp_pvc.yaml after defaulting, with host keys from
// a Secret of the user's (the sample's are generated) so that the golden files cover that volume too.
func sftpPVC() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("archive", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e04"),
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP: &v1alpha1.SFTPSpec{
				Port:        22,
				AuthMethods: []v1alpha1.SFTPAuthMethod{v1alpha1.SFTPAuthPublicKey},
				HostKeys:    &v1alpha1.HostKeysSpec{SecretRef: v1alpha1.LocalObjectReference{Name: "archive-host-keys"}},
			},
			Service: v1alpha1.ServiceSpec{
				Type:                     "LoadBalancer",
				LoadBalancerSourceRanges: []v1alpha1.CIDR{"198.51.100.0/24", "203.0.113.0/24"},
				ExternalTrafficPolicy:    new(corev1.ServiceExternalTrafficPolicyLocal),
			},
			Storage: v1alpha1.StorageSpec{
				PersistentVolumeClaim: &v1alpha1.ExistingClaim{ClaimName: "archive-data"},
			},
			Replicas:        new(int32(2)),
			Limits:          defaultLimits(),
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
			PodTemplate: v1alpha1.PodTemplateSpec{
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("100m"),
						corev1.ResourceMemory: resource.MustParse("64Mi"),
					},
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
			},
		},
	}
}

// replicated is a larger production endpoint: three pods on a shared ReadWriteMany claim, SFTP and FTPS behind a
// cloud load balancer, with scheduling settings.
func replicated() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("exchange", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e05"),
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP: &v1alpha1.SFTPSpec{Port: 22, AuthMethods: defaultAuthMethods()},
			FTP: &v1alpha1.FTPSpec{
				Port: 21,
				TLS: v1alpha1.FTPTLSSpec{
					Mode:                v1alpha1.FTPTLSRequired,
					ImplicitPort:        new(int32(990)),
					SecretRef:           &v1alpha1.LocalObjectReference{Name: "exchange-tls"},
					RequireSessionReuse: new(true),
					MinVersion:          "1.3",
				},
				Passive: v1alpha1.PassiveSpec{PortRange: v1alpha1.PortRange{Start: 31000, End: 31009}},
				Active:  v1alpha1.ActiveSpec{Enabled: true},
			},
			Service: v1alpha1.ServiceSpec{
				Type: "LoadBalancer",
				Annotations: map[string]string{
					"service.beta.kubernetes.io/aws-load-balancer-type":   "nlb",
					"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
				},
				LoadBalancerSourceRanges: []v1alpha1.CIDR{"192.0.2.0/24", "2001:db8::/32"},
				LoadBalancerClass:        new("service.k8s.aws/nlb"),
			},
			Storage: v1alpha1.StorageSpec{VolumeClaimTemplate: &v1alpha1.VolumeClaimTemplate{
				Metadata: v1alpha1.ObjectMetaTemplate{
					Labels:      map[string]string{"backup.example.com/policy": "daily"},
					Annotations: map[string]string{"example.com/owner": "data-exchange-team"},
				},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
					StorageClassName: new("nfs-client"),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("100Gi"),
					}},
				},
			}},
			Replicas: new(int32(3)),
			// Deleted with the endpoint: the golden files show the owner references that make it so.
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionDelete, HostKeys: v1alpha1.RetentionDelete},
			Limits: v1alpha1.LimitsSpec{
				MaxConnections:      500,
				MaxConnectionsPerIP: 10,
				IdleTimeout:         &metav1.Duration{Duration: 90 * time.Second},
				MaxLoginFailures:    new(int32(10)),
				BanDuration:         &metav1.Duration{Duration: time.Hour},
			},
			AllowedSourceRanges: []v1alpha1.CIDR{"192.0.2.0/24", "2001:db8::/32"},
			PodTemplate: v1alpha1.PodTemplateSpec{
				Metadata: v1alpha1.ObjectMetaTemplate{
					Labels: map[string]string{
						"team": "data-exchange",
						// Ignored: the operator's own labels win.
						"app.kubernetes.io/name": "something-else",
					},
					Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9080"},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("500m"),
						corev1.ResourceMemory: resource.MustParse("256Mi"),
					},
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				NodeSelector: map[string]string{"node.example.com/pool": "transfer"},
				Tolerations: []corev1.Toleration{{
					Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "transfer", Effect: corev1.TaintEffectNoSchedule,
				}},
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
					MaxSkew:           1,
					TopologyKey:       "topology.kubernetes.io/zone",
					WhenUnsatisfiable: corev1.ScheduleAnyway,
					LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{LabelEndpoint: "exchange"}},
				}},
				PriorityClassName: "business-critical",
				ImagePullSecrets:  []corev1.LocalObjectReference{{Name: "registry-credentials"}},
			},
		},
	}
}

// dualStack serves SFTP and FTPS behind a dual-stack load balancer whose primary family is IPv6.
func dualStack() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("dual", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e06"),
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP: &v1alpha1.SFTPSpec{Port: 22, AuthMethods: defaultAuthMethods()},
			FTP: &v1alpha1.FTPSpec{
				Port: 21,
				TLS: v1alpha1.FTPTLSSpec{
					Mode:                v1alpha1.FTPTLSRequired,
					ImplicitPort:        new(int32(990)),
					SecretRef:           &v1alpha1.LocalObjectReference{Name: "dual-tls"},
					RequireSessionReuse: new(true),
					MinVersion:          "1.2",
				},
				Passive: v1alpha1.PassiveSpec{PortRange: v1alpha1.PortRange{Start: 30000, End: 30004}},
			},
			Service: v1alpha1.ServiceSpec{
				Type:                  "LoadBalancer",
				ExternalTrafficPolicy: new(corev1.ServiceExternalTrafficPolicyLocal),
				IPFamilyPolicy:        new(corev1.IPFamilyPolicyRequireDualStack),
				IPFamilies:            []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol},
			},
			Storage:         v1alpha1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			Replicas:        new(int32(1)),
			Limits:          defaultLimits(),
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
		},
	}
}

// ipv6Only serves plain FTP on an IPv6-only load balancer.
func ipv6Only() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: endpointMeta("v6", "6c1f0a52-3b7e-4d1a-9f0e-2a8c5b7d1e07"),
		Spec: v1alpha1.TransferEndpointSpec{
			FTP: &v1alpha1.FTPSpec{
				Port: 21,
				TLS: v1alpha1.FTPTLSSpec{
					Mode:                v1alpha1.FTPTLSDisabled,
					RequireSessionReuse: new(true),
					MinVersion:          "1.2",
				},
				Passive: v1alpha1.PassiveSpec{PortRange: v1alpha1.PortRange{Start: 30000, End: 30001}},
			},
			Service: v1alpha1.ServiceSpec{
				Type:           "LoadBalancer",
				IPFamilyPolicy: new(corev1.IPFamilyPolicySingleStack),
				IPFamilies:     []corev1.IPFamily{corev1.IPv6Protocol},
			},
			Storage:         v1alpha1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			Replicas:        new(int32(1)),
			Limits:          defaultLimits(),
			RetentionPolicy: v1alpha1.RetentionPolicy{Storage: v1alpha1.RetentionRetain, HostKeys: v1alpha1.RetentionRetain},
		},
	}
}

// Users as the reconciler resolves them from TransferUsers.

func userAlice() serverconfig.User {
	return serverconfig.User{
		Username:       "alice",
		PasswordHash:   testPasswordHash,
		AuthorizedKeys: []string{testKeyAlice},
		HomeDirectory:  "/alice",
		Permissions:    []serverconfig.Permission{serverconfig.PresetReadWrite},
	}
}

func userBob() serverconfig.User {
	return serverconfig.User{
		Username:     "bob",
		PasswordHash: testPasswordHash,
		Permissions:  []serverconfig.Permission{serverconfig.PresetUploadOnly},
		Protocols:    []serverconfig.Protocol{serverconfig.ProtocolFTP},
	}
}

func userCarol() serverconfig.User {
	return serverconfig.User{
		Username:     "carol",
		PasswordHash: testPasswordHash,
		Permissions:  []serverconfig.Permission{serverconfig.PresetReadOnly},
		Disabled:     true,
	}
}

func userCIBot() serverconfig.User {
	return serverconfig.User{
		Username:            "ci-bot",
		AuthorizedKeys:      []string{testKeyCI},
		HomeDirectory:       "/shared/reports",
		Permissions:         []serverconfig.Permission{serverconfig.PresetReadOnly},
		Protocols:           []serverconfig.Protocol{serverconfig.ProtocolSFTP},
		AllowedSourceRanges: []string{"192.0.2.0/24"},
	}
}

func userAuditor() serverconfig.User {
	return serverconfig.User{
		Username:            "auditor@example.com",
		AuthorizedKeys:      []string{testKeyAuditor},
		HomeDirectory:       "/reports",
		Permissions:         []serverconfig.Permission{serverconfig.PresetReadOnly},
		Protocols:           []serverconfig.Protocol{serverconfig.ProtocolSFTP},
		AllowedSourceRanges: []string{"198.51.100.0/24"},
	}
}
