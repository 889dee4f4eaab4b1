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

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TransferEndpointSpec is the desired state of one file-transfer endpoint: the protocols it serves, how it is
// exposed, where files are stored and the limits applied to clients.
// +kubebuilder:validation:XValidation:rule="has(self.sftp) || has(self.ftp)",message="enable at least one protocol: set spec.sftp, spec.ftp or both"
// +kubebuilder:validation:XValidation:rule="!has(self.sftp) || !has(self.ftp) || self.sftp.port != self.ftp.port",message="spec.sftp.port and spec.ftp.port must differ: both are ports of the same Service"
// +kubebuilder:validation:XValidation:rule="!has(self.sftp) || !has(self.ftp) || !has(self.ftp.tls.implicitPort) || self.sftp.port != self.ftp.tls.implicitPort",message="spec.ftp.tls.implicitPort must differ from spec.sftp.port: both are ports of the same Service"
// +kubebuilder:validation:XValidation:rule="!has(self.sftp) || !has(self.ftp) || self.sftp.port < self.ftp.passive.portRange.start || self.sftp.port > self.ftp.passive.portRange.end",message="spec.sftp.port must lie outside spec.ftp.passive.portRange: every passive port is also a port of the Service"
// +kubebuilder:validation:XValidation:rule="!has(self.ftp) || self.service.type != 'NodePort' || (self.ftp.passive.portRange.start >= 30000 && self.ftp.passive.portRange.end <= 32767)",message="with spec.service.type NodePort, spec.ftp.passive.portRange must lie within 30000-32767 (the default NodePort range), because each passive port is published as the same node port"
// +kubebuilder:validation:XValidation:rule="!has(self.ftp) || self.replicas <= 1",message="spec.replicas above 1 cannot serve FTP: a Service keeps a client on one pod per port, not across ports (kubernetes/kubernetes#103000), so a passive data connection would reach another pod than its control connection about half the time; run FTP with one replica, and SFTP alone on an endpoint with several"
// +kubebuilder:validation:XValidation:rule="self.replicas <= 1 || has(self.storage.persistentVolumeClaim) || (has(self.storage.volumeClaimTemplate) && has(self.storage.volumeClaimTemplate.spec.accessModes) && 'ReadWriteMany' in self.storage.volumeClaimTemplate.spec.accessModes)",message="spec.replicas above 1 needs storage every pod shares: spec.storage.persistentVolumeClaim, or a spec.storage.volumeClaimTemplate with accessModes [ReadWriteMany]; with emptyDir each pod would see different files"
type TransferEndpointSpec struct {
	// sftp enables SFTP (file transfer over SSH). Omit it to serve no SFTP.
	// +optional
	SFTP *SFTPSpec `json:"sftp,omitempty"`

	// ftp enables FTP with explicit (AUTH TLS) and optionally implicit FTPS. Omit it to serve no FTP.
	// +optional
	FTP *FTPSpec `json:"ftp,omitempty"`

	// service shapes the Service that exposes the endpoint's control ports and FTP passive ports.
	// +optional
	// +kubebuilder:default={}
	Service ServiceSpec `json:"service,omitzero"`

	// storage is where users' files live. Exactly one source; emptyDir (the default) loses every file when the
	// pod is replaced, and status.storage reports it as ephemeral.
	// +optional
	// +kubebuilder:default={emptyDir: {}}
	Storage StorageSpec `json:"storage,omitzero"`

	// replicas is the number of server pods. More than one needs storage all pods share (see storage), and is for
	// SFTP only: an FTP passive data connection must reach the pod of its control connection, and a Service's
	// ClientIP affinity holds per port, not across the control and passive ports. kubectl scale and a
	// HorizontalPodAutoscaler set it through the scale subresource, whose changes these rules check as well: a
	// scale they refuse is refused with their message.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// limits protect the endpoint from too many or abusive clients.
	// +optional
	// +kubebuilder:default={}
	Limits LimitsSpec `json:"limits,omitzero"`

	// allowedSourceRanges, when set, admits clients only from these networks (checked by the server, for every
	// protocol). Empty admits every address. See also service.loadBalancerSourceRanges, enforced by the load
	// balancer, and each TransferUser's own allowedSourceRanges.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowedSourceRanges []CIDR `json:"allowedSourceRanges,omitempty"`

	// podTemplate customises the server pods: resources, scheduling and extra metadata.
	// +optional
	PodTemplate PodTemplateSpec `json:"podTemplate,omitzero"`

	// retentionPolicy says what outlives the endpoint when it is deleted: the claim the operator made from
	// storage.volumeClaimTemplate (the users' files) and the host keys it generated (what partners pinned in their
	// known_hosts). Both default to Retain. A kept object loses its owner reference, so Kubernetes' garbage
	// collector leaves it, and keeps labels naming the endpoint; an endpoint of the same name created later in
	// the same namespace takes it over again (status.retention and an event say so). Objects the user made
	// (storage.persistentVolumeClaim, sftp.hostKeys.secretRef) are never deleted by the operator either way.
	// +optional
	// +kubebuilder:default={}
	RetentionPolicy RetentionPolicy `json:"retentionPolicy,omitzero"`
}

// RetentionPolicy says, for each kind of data the operator creates for an endpoint, whether it is kept or
// deleted when the endpoint is deleted.
type RetentionPolicy struct {
	// storage applies to the claim made from spec.storage.volumeClaimTemplate. Retain (the default) keeps the
	// claim and its files when the endpoint is deleted; Delete lets the garbage collector delete it with the
	// endpoint, and with it every file (and, with a reclaimPolicy of Delete, the volume itself).
	// +optional
	// +kubebuilder:default=Retain
	Storage RetentionPolicyType `json:"storage,omitempty"`

	// hostKeys applies to the Secret of host keys the operator generates (NAME-host-keys). Retain (the default)
	// keeps it when the endpoint is deleted, so an endpoint re-created under the same name serves the same keys
	// and partners' known_hosts entries stay valid; Delete deletes the keys with the endpoint, and a re-created
	// endpoint gets new ones, which every client will see as a changed host key.
	// +optional
	// +kubebuilder:default=Retain
	HostKeys RetentionPolicyType `json:"hostKeys,omitempty"`
}

// RetentionPolicyType says whether an object is kept or deleted with its endpoint.
// +kubebuilder:validation:Enum=Retain;Delete
type RetentionPolicyType string

const (
	// RetentionRetain keeps the object when the endpoint is deleted.
	RetentionRetain RetentionPolicyType = "Retain"
	// RetentionDelete deletes the object with the endpoint.
	RetentionDelete RetentionPolicyType = "Delete"
)

// ServiceType is how the endpoint's Service is exposed.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
type ServiceType string

// ServiceSpec shapes the endpoint's Service.
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerSourceRanges) || self.type == 'LoadBalancer'",message="spec.service.loadBalancerSourceRanges needs spec.service.type LoadBalancer; use spec.allowedSourceRanges to restrict clients of other Service types"
// +kubebuilder:validation:XValidation:rule="!has(self.externalTrafficPolicy) || self.type != 'ClusterIP'",message="spec.service.externalTrafficPolicy applies only to Service types NodePort and LoadBalancer"
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerClass) || self.type == 'LoadBalancer'",message="spec.service.loadBalancerClass needs spec.service.type LoadBalancer"
// +kubebuilder:validation:XValidation:rule="!has(self.ipFamilies) || self.ipFamilies.size() < 2 || self.ipFamilies[0] != self.ipFamilies[1]",message="spec.service.ipFamilies must not list a family twice: list IPv4, IPv6 or both"
// +kubebuilder:validation:XValidation:rule="!has(self.ipFamilies) || self.ipFamilies.size() < 2 || (has(self.ipFamilyPolicy) && self.ipFamilyPolicy != 'SingleStack')",message="spec.service.ipFamilies lists two families: set spec.service.ipFamilyPolicy to PreferDualStack or RequireDualStack (as on a Service, SingleStack is the default)"
type ServiceSpec struct {
	// type of the Service. ClusterIP (the default) reaches the endpoint only from inside the cluster; use
	// LoadBalancer or NodePort to serve clients outside it.
	// +optional
	// +kubebuilder:default=ClusterIP
	Type ServiceType `json:"type,omitempty"`

	// annotations added to the Service, for example a cloud load balancer's settings.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// loadBalancerSourceRanges restricts which client networks the cloud load balancer admits (type
	// LoadBalancer only).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	LoadBalancerSourceRanges []CIDR `json:"loadBalancerSourceRanges,omitempty"`

	// loadBalancerClass selects a load-balancer implementation other than the cloud provider's default (type
	// LoadBalancer only).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LoadBalancerClass *string `json:"loadBalancerClass,omitempty"`

	// externalTrafficPolicy for NodePort and LoadBalancer Services. When omitted the operator uses Local: it keeps
	// clients' source addresses (needed for allowedSourceRanges, per-IP limits and bans) and keeps an FTP
	// client's control and data connections on the same source address.
	// +optional
	// +kubebuilder:validation:Enum=Cluster;Local
	ExternalTrafficPolicy *corev1.ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`

	// ipFamilyPolicy of the Service, as on a core Service: SingleStack (one IP family), PreferDualStack (both
	// families when the cluster has them) or RequireDualStack (both, or the Service is refused). When omitted,
	// Kubernetes creates a single-stack Service and keeps the policy an existing Service has. The operator hands
	// FTP clients a passive address of each family the load balancer has (see ftp.passive.address); over IPv6,
	// passive mode is EPSV.
	// +optional
	// +kubebuilder:validation:Enum=SingleStack;PreferDualStack;RequireDualStack
	IPFamilyPolicy *corev1.IPFamilyPolicy `json:"ipFamilyPolicy,omitempty"`

	// ipFamilies of the Service in order, as on a core Service: IPv4, IPv6 or both; the first is the primary
	// family, which Kubernetes does not let change once the Service exists. When omitted, the cluster's default
	// family (and with a dual-stack policy, the other one too).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:Enum=IPv4;IPv6
	IPFamilies []corev1.IPFamily `json:"ipFamilies,omitempty"`
}

// StorageSpec is where users' files live: exactly one source.
// +kubebuilder:validation:XValidation:rule="[has(self.persistentVolumeClaim), has(self.volumeClaimTemplate), has(self.emptyDir)].filter(x, x).size() == 1",message="spec.storage needs exactly one source: persistentVolumeClaim, volumeClaimTemplate or emptyDir"
type StorageSpec struct {
	// persistentVolumeClaim uses an existing claim in the endpoint's namespace.
	// +optional
	PersistentVolumeClaim *ExistingClaim `json:"persistentVolumeClaim,omitempty"`

	// volumeClaimTemplate makes the operator create a claim (NAME-data) from this template. The claim is created
	// once and then left as it is: a template changed later (size, storage class) is not applied to an existing
	// claim. Whether it outlives the endpoint is spec.retentionPolicy.storage (default Retain).
	// +optional
	VolumeClaimTemplate *VolumeClaimTemplate `json:"volumeClaimTemplate,omitempty"`

	// emptyDir keeps files in a pod-local directory that is lost when the pod goes away: fine for a demo or a
	// drop box that is emptied continuously, not for data that must be kept.
	// +optional
	EmptyDir *corev1.EmptyDirVolumeSource `json:"emptyDir,omitempty"`
}

// ExistingClaim names an existing PersistentVolumeClaim.
type ExistingClaim struct {
	// claimName is the name of the PersistentVolumeClaim, in the endpoint's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`
}

// VolumeClaimTemplate describes the claim the operator creates.
type VolumeClaimTemplate struct {
	// metadata added to the created claim: labels and annotations.
	// +optional
	Metadata ObjectMetaTemplate `json:"metadata,omitzero"`

	// spec of the created claim: access modes, storage class and requested size.
	// +required
	Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
}

// ObjectMetaTemplate holds the labels and annotations to add to an object the operator creates.
type ObjectMetaTemplate struct {
	// labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// LimitsSpec limits connections and failed logins.
type LimitsSpec struct {
	// maxConnections is the most client connections one server pod accepts at once; 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConnections int32 `json:"maxConnections,omitempty"`

	// maxConnectionsPerIP is the most connections one client address may hold at once per pod; 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConnectionsPerIP int32 `json:"maxConnectionsPerIP,omitempty"`

	// idleTimeout closes a connection with no activity for this long (a Go duration such as 90s or 5m).
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))",message="idleTimeout must be a duration between 10s and 24h, such as 90s or 5m"
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`

	// maxLoginFailures is how many failed logins from one address, within banDuration, ban that address for
	// banDuration. 0 turns banning off.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxLoginFailures *int32 `json:"maxLoginFailures,omitempty"`

	// banDuration is how long a banned address is refused (a Go duration such as 15m or 1h).
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('720h'))",message="banDuration must be a duration between 1s and 720h, such as 15m or 1h"
	BanDuration *metav1.Duration `json:"banDuration,omitempty"`
}

// PodTemplateSpec customises the server pods.
type PodTemplateSpec struct {
	// metadata adds labels and annotations to the pods.
	// +optional
	Metadata ObjectMetaTemplate `json:"metadata,omitzero"`

	// resources of the server container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitzero"`

	// nodeSelector constrains which nodes run the pods. When empty, the operator's default (its
	// --endpoint-defaults) applies; when set, it replaces that default as a whole.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the pods run on tainted nodes. When empty, the operator's default tolerations apply; when
	// set, they replace them.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity rules for scheduling the pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// topologySpreadConstraints spread the pods across zones or nodes.
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// priorityClassName of the pods; when empty, the operator's default.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// imagePullSecrets used to pull the pier-server image from a private registry, added to the operator's
	// default ones.
	// +optional
	// +listType=atomic
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

// TransferEndpointStatus is the observed state of a TransferEndpoint.
type TransferEndpointStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the endpoint serves its users), Available (enough server pods run), HostKeysReady,
	// TLSReady and AddressReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// protocols served, such as "sftp,ftp,ftps".
	// +optional
	Protocols string `json:"protocols,omitempty"`

	// addresses clients connect to, one per protocol, port and load-balancer address (so one of each IP family
	// on a dual-stack load balancer), else the Service's cluster DNS name.
	// +optional
	// +listType=atomic
	Addresses []EndpointAddress `json:"addresses,omitempty"`

	// hostKeys are the SSH host keys' SHA256 fingerprints, to compare with what an SFTP client shows. While the
	// host-key Secret is missing or unusable they stay the ones last served, which running pods keep offering.
	// +optional
	// +listType=atomic
	HostKeys []HostKeyStatus `json:"hostKeys,omitempty"`

	// previousHostKeys are host keys the endpoint served before and serves no more, most recently retired
	// first: a client that pinned one of them now sees a changed host key, and this says when and why.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=12
	PreviousHostKeys []RetiredHostKey `json:"previousHostKeys,omitempty"`

	// lastHandledHostKeyRegeneration is the value of the annotation transfer.pier.dev/regenerate-host-keys that
	// the operator acted on last. Setting the annotation to any other value asks once for new host keys.
	// +optional
	LastHandledHostKeyRegeneration string `json:"lastHandledHostKeyRegeneration,omitempty"`

	// lastHandledHostKeyAddition is the value of the annotation transfer.pier.dev/add-host-keys that the operator
	// acted on last. Setting the annotation to any other value asks once for keys of the types in
	// spec.sftp.generatedHostKeyTypes that the endpoint does not serve yet, served beside the existing ones.
	// +optional
	LastHandledHostKeyAddition string `json:"lastHandledHostKeyAddition,omitempty"`

	// retention says which of the endpoint's objects outlive it (spec.retentionPolicy) and which it took over from
	// an earlier endpoint of the same name.
	// +optional
	Retention *RetentionStatus `json:"retention,omitempty"`

	// tls describes the certificate FTPS serves.
	// +optional
	TLS *TLSStatus `json:"tls,omitempty"`

	// storage describes where files are kept.
	// +optional
	Storage *StorageStatus `json:"storage,omitempty"`

	// users is the number of TransferUsers the endpoint's server config holds: the logins it serves, disabled ones
	// included (they are refused). It is set from the first reconcile on, 0 included.
	// +optional
	Users *int32 `json:"users,omitempty"`

	// userReadiness counts the TransferUsers bound to the endpoint by their Ready condition, as the endpoint's
	// config serves them, and names some that are not Ready with the reason. It is set with every config the
	// operator writes, and kept while none can be written.
	// +optional
	UserReadiness *UserReadiness `json:"userReadiness,omitempty"`

	// replicas is the number of server pods (the Deployment's status.replicas); the scale subresource reads it.
	// +optional
	// +kubebuilder:default=0
	Replicas int32 `json:"replicas,omitempty"`

	// selector is the label selector of the server pods, in the string form of `kubectl get pods -l`, for the
	// scale subresource: a HorizontalPodAutoscaler finds the pods whose metrics it reads with it.
	// +optional
	Selector string `json:"selector,omitempty"`

	// availableReplicas is the number of server pods ready to serve. Its default makes kubectl show 0 rather than
	// <none>.
	// +optional
	// +kubebuilder:default=0
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
}

// UserReadiness counts an endpoint's TransferUsers by their Ready condition.
type UserReadiness struct {
	// ready is the number of bound TransferUsers whose Ready condition is True: the endpoint's config serves
	// their current settings and it has a pod available to accept them. Disabled users count here, as their
	// Ready is True (reason Disabled: the endpoint refuses them, as asked).
	Ready int32 `json:"ready"`

	// notReady is the number of bound TransferUsers whose Ready condition is False.
	NotReady int32 `json:"notReady"`

	// notReadyUsers names up to 20 of the users counted in notReady, those with a problem of their own (a missing
	// Secret, a duplicate username, ...) before those waiting for the endpoint (Pending, EndpointUnavailable,
	// EndpointFull). Each user's Ready condition has the whole message.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	NotReadyUsers []NotReadyUser `json:"notReadyUsers,omitempty"`
}

// NotReadyUser is a TransferUser whose Ready condition is False, and why.
type NotReadyUser struct {
	// name of the TransferUser.
	Name string `json:"name"`
	// reason of its Ready condition, such as SecretNotFound or EndpointUnavailable.
	Reason string `json:"reason"`
}

// EndpointAddress is one address clients connect to.
type EndpointAddress struct {
	// protocol: sftp, ftp or ftps (implicit FTPS).
	Protocol string `json:"protocol"`
	// url such as sftp://203.0.113.7:22, or sftp://[2001:db8::7]:22 for an IPv6 address; a dual-stack load
	// balancer has one of each.
	URL string `json:"url"`
}

// HostKeyStatus is one SSH host key's type and fingerprint.
type HostKeyStatus struct {
	// type of the key, such as ssh-ed25519.
	Type string `json:"type"`
	// fingerprint in OpenSSH's SHA256:... form.
	Fingerprint string `json:"fingerprint"`
}

// RetiredHostKey is an SSH host key the endpoint served and serves no more.
type RetiredHostKey struct {
	// type of the key, such as ssh-ed25519.
	Type string `json:"type"`
	// fingerprint in OpenSSH's SHA256:... form.
	Fingerprint string `json:"fingerprint"`
	// retiredAt is when the operator saw the key replaced.
	RetiredAt metav1.Time `json:"retiredAt"`
	// reason the key was replaced: Regenerated (new keys were asked for with the annotation
	// transfer.pier.dev/regenerate-host-keys) or SecretChanged (the keys in the host-key Secret changed).
	Reason string `json:"reason"`
}

// RetentionStatus reports what outlives the endpoint and what it took over.
type RetentionStatus struct {
	// retainedOnDelete are the objects kept when this endpoint is deleted, as Kind/name.
	// +optional
	// +listType=atomic
	RetainedOnDelete []string `json:"retainedOnDelete,omitempty"`

	// readopted are objects kept from an earlier endpoint of the same name that this endpoint took over.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Readopted []ReadoptedObject `json:"readopted,omitempty"`
}

// ReadoptedObject is an object an endpoint took over from an earlier endpoint of the same name.
type ReadoptedObject struct {
	// kind of the object: PersistentVolumeClaim or Secret.
	Kind string `json:"kind"`
	// name of the object, in the endpoint's namespace.
	Name string `json:"name"`
	// previousOwnerUID is the uid of the endpoint that created or last held it.
	// +optional
	PreviousOwnerUID string `json:"previousOwnerUID,omitempty"`
	// readoptedAt is when this endpoint took it over.
	ReadoptedAt metav1.Time `json:"readoptedAt"`
}

// TLSStatus describes the served certificate.
type TLSStatus struct {
	// secretName is the kubernetes.io/tls Secret the server uses.
	SecretName string `json:"secretName"`
	// notAfter is when the certificate expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
}

// StorageStatus describes where files are kept.
type StorageStatus struct {
	// claimName is the PersistentVolumeClaim holding the files, when there is one.
	// +optional
	ClaimName string `json:"claimName,omitempty"`
	// ephemeral is true when files are lost with the pod (emptyDir).
	Ephemeral bool `json:"ephemeral"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=te,categories=pier
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 50 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="a TransferEndpoint's name must be at most 50 characters of lower-case letters, digits and '-', starting with a letter: it names the endpoint's Service and, with suffixes such as -host-keys, its other children"
// +kubebuilder:printcolumn:name="Protocols",type=string,JSONPath=`.status.protocols`
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.status.addresses[0].url`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.users`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`,priority=1
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableReplicas`,priority=1
// +kubebuilder:printcolumn:name="Users Not Ready",type=integer,JSONPath=`.status.userReadiness.notReady`,priority=1
// +kubebuilder:printcolumn:name="TLS Expires",type=string,JSONPath=`.status.tls.notAfter`,priority=1
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.service.type`,priority=1
// The TLS expiry column is a string, not a date: kubectl prints a date column as the time since it, and a time
// still to come as <invalid>. The last five columns show with -o wide (priority 1).

// TransferEndpoint is one SFTP and/or FTP/FTPS service: the operator runs pier-server for it in a Deployment,
// exposes it through a Service and keeps its host keys, certificate and user list current.
type TransferEndpoint struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired endpoint.
	// +required
	Spec TransferEndpointSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status TransferEndpointStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TransferEndpointList is a list of TransferEndpoints.
type TransferEndpointList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TransferEndpoint `json:"items"`
}
