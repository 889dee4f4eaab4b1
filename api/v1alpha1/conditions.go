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

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types reported in status.conditions.
const (
	// ConditionReady is True when the object does what its spec asks: an endpoint serves its users, a user can
	// log in.
	ConditionReady = "Ready"
	// ConditionAvailable is True when enough server pods are ready.
	ConditionAvailable = "Available"
	// ConditionHostKeysReady is True when the SSH host keys exist and are valid.
	ConditionHostKeysReady = "HostKeysReady"
	// ConditionTLSReady is True when the FTPS certificate Secret holds a valid, unexpired pair.
	ConditionTLSReady = "TLSReady"
	// ConditionAddressReady is True when the address announced for FTP passive mode is known.
	ConditionAddressReady = "AddressReady"
	// ConditionUsersServed is True when the endpoint serves every TransferUser bound to it; False names the ones
	// it does not serve and why (reason EndpointFull when the endpoint's limits left some out).
	ConditionUsersServed = "UsersServed"
)

// Condition reasons, and the reasons of the events the operator records. Tools that act on the status (the Argo CD
// health check in docs/gitops/health.lua, alerts, scripts) key on these strings, so they are part of the API:
// renaming one is an API change. The operator sets no reason that is not listed here.

// Reasons of the Ready condition of both kinds.
const (
	// ReasonServing: Ready is True. The endpoint serves its users; the user can log in.
	ReasonServing = "Serving"
	// ReasonReconcileFailed: an error (of the API server, or a child it refused) stopped the reconcile. The
	// message says which; the operator retries.
	ReasonReconcileFailed = "ReconcileFailed"
)

// Reasons of a TransferEndpoint's Ready condition of its own. Otherwise Ready repeats the reason of the first of
// HostKeysReady, TLSReady and Available that is not True.
const (
	// ReasonInvalidConfig: the rendered server config is invalid; the endpoint keeps serving the last one.
	ReasonInvalidConfig = "InvalidConfig"
	// ReasonNoHostKeys: an SFTP endpoint has no usable host keys yet, so no config can be written.
	ReasonNoHostKeys = "NoHostKeys"
)

// Reasons of the HostKeysReady condition, and of the host-key events.
const (
	// ReasonLoaded: HostKeysReady is True.
	ReasonLoaded = "Loaded"
	// ReasonSecretNotFound: a Secret the spec names does not exist (host keys, TLS, or a user's credentials).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonInvalidHostKeys: the host-key Secret holds keys pier-server cannot use.
	ReasonInvalidHostKeys = "InvalidHostKeys"
	// ReasonHostKeysMissing: the host-key Secret is gone after the endpoint served its keys.
	ReasonHostKeysMissing = "HostKeysMissing"
	// ReasonHostKeySecretConflict: a Secret of the generated host keys' name exists that this endpoint did not
	// make; its keys are not used.
	ReasonHostKeySecretConflict = "HostKeySecretConflict"
	// ReasonHostKeysGenerated (event): the endpoint's first host keys were generated.
	ReasonHostKeysGenerated = "HostKeysGenerated"
	// ReasonHostKeysRegenerated (event): new host keys were generated, as AnnotationRegenerateHostKeys asked.
	ReasonHostKeysRegenerated = "HostKeysRegenerated"
	// ReasonHostKeysChanged (event): the keys in the host-key Secret changed without a regeneration request.
	ReasonHostKeysChanged = "HostKeysChanged"
	// ReasonHostKeyRegenerationRefused (event): a regeneration request the operator cannot answer.
	ReasonHostKeyRegenerationRefused = "HostKeyRegenerationRefused"
	// ReasonHostKeysAdded (event): host keys were added beside the served ones, as AnnotationAddHostKeys asked.
	ReasonHostKeysAdded = "HostKeysAdded"
	// ReasonHostKeyAdditionRefused (event): an addition request the operator cannot answer.
	ReasonHostKeyAdditionRefused = "HostKeyAdditionRefused"
	// ReasonHostKeysRetired (event): keys spec.sftp.retiredHostKeys names were removed from the generated Secret.
	ReasonHostKeysRetired = "HostKeysRetired"
	// ReasonHostKeyRetirementRefused (event): spec.sftp.retiredHostKeys names every key served; one stays.
	ReasonHostKeyRetirementRefused = "HostKeyRetirementRefused"
)

// Reasons of the retention events (spec.retentionPolicy).
const (
	// ReasonReadopted (event): an object kept from an earlier endpoint of the same name was taken over.
	ReasonReadopted = "Readopted"
	// ReasonRetained (event, on the kept object): its endpoint was deleted and the object kept.
	ReasonRetained = "Retained"
	// ReasonNotAdopted (event): an object of the name the endpoint needs exists, but was not kept for this
	// endpoint by the operator, or is still being deleted with an earlier endpoint.
	ReasonNotAdopted = "NotAdopted"
	// ReasonRetainedClaimDiffers (event): a re-adopted claim differs from the endpoint's volumeClaimTemplate.
	ReasonRetainedClaimDiffers = "RetainedClaimDiffers"
)

// Reasons of the TLSReady condition (and ReasonSecretNotFound).
const (
	// ReasonValid: TLSReady is True.
	ReasonValid = "Valid"
	// ReasonCertManagerNotInstalled: spec.ftp.tls.issuerRef needs cert-manager, which is not installed; it clears
	// by itself once cert-manager is installed (the operator watches for its Certificate CRD).
	ReasonCertManagerNotInstalled = "CertManagerNotInstalled"
	// ReasonCertificatePending: waiting for cert-manager to issue the certificate.
	ReasonCertificatePending = "CertificatePending"
	// ReasonInvalidCertificate: the TLS Secret does not hold a usable certificate and key.
	ReasonInvalidCertificate = "InvalidCertificate"
	// ReasonCertificateExpired: the certificate in the TLS Secret has expired.
	ReasonCertificateExpired = "CertificateExpired"
)

// Reasons of the AddressReady condition: where FTP's passive mode address comes from.
const (
	// ReasonConfigured: from spec.ftp.passive.address.
	ReasonConfigured = "Configured"
	// ReasonLoadBalancer: from the Service's load balancer.
	ReasonLoadBalancer = "LoadBalancer"
	// ReasonLoadBalancerPending: the load balancer has no address yet.
	ReasonLoadBalancerPending = "LoadBalancerPending"
	// ReasonAddressRequired: a NodePort Service, which has no single external address, without
	// spec.ftp.passive.address.
	ReasonAddressRequired = "AddressRequired"
	// ReasonClusterInternal: a ClusterIP Service; the pod's own address, reachable inside the cluster.
	ReasonClusterInternal = "ClusterInternal"
)

// Reasons of the UsersServed condition.
const (
	// ReasonAllUsersServed: UsersServed is True.
	ReasonAllUsersServed = "AllUsersServed"
	// ReasonUsersNotServed: some bound TransferUsers are not served; each one's Ready condition says why.
	ReasonUsersNotServed = "UsersNotServed"
	// ReasonEndpointFull: the endpoint's limits (users, config size) left users out; also a left-out user's
	// Ready reason.
	ReasonEndpointFull = "EndpointFull"
	// ReasonConfigWriteFailed: the config Secret could not be written; the served config was written again
	// with only removals and restrictions applied.
	ReasonConfigWriteFailed = "ConfigWriteFailed"
)

// Reasons of the Available condition. A TransferEndpoint's Ready condition repeats the reason when Available is
// False.
const (
	// ReasonMinimumReplicasAvailable: the Deployment is Available (the message still names a failing pod, such
	// as the new pod of a stuck rollout, when there is one).
	ReasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	// ReasonPodsNotAvailable: pods are missing and nothing says why yet; usually they are starting.
	ReasonPodsNotAvailable = "PodsNotAvailable"
	// ReasonScaledToZero: spec.replicas is 0.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonReplicaFailure: the ReplicaSet cannot create pods (a missing PriorityClass or ServiceAccount, a quota,
	// a Pod Security or admission webhook refusal).
	ReasonReplicaFailure = "ReplicaFailure"
	// ReasonPodsUnschedulable: the scheduler cannot place a pod (resources, node selectors, taints, an unbound
	// claim). It may resolve by itself, for example when a cluster autoscaler adds a node.
	ReasonPodsUnschedulable = "PodsUnschedulable"
	// ReasonPodsFailing: a container cannot start or keeps crashing (image pull, crash loop, bad configuration).
	ReasonPodsFailing = "PodsFailing"
)

// Reasons of a TransferUser's Ready condition (and ReasonServing, ReasonReconcileFailed, ReasonSecretNotFound,
// ReasonEndpointFull).
const (
	// ReasonDisabled: Ready is True for a user with spec.disabled: the endpoint refuses it, as asked.
	ReasonDisabled = "Disabled"
	// ReasonPending: waiting for the endpoint to serve the user's current settings.
	ReasonPending = "Pending"
	// ReasonEndpointNotFound: spec.endpointRef names no TransferEndpoint in the namespace.
	ReasonEndpointNotFound = "EndpointNotFound"
	// ReasonEndpointUnavailable: the endpoint serves the user but has no pod to accept it, or cannot write its
	// config.
	ReasonEndpointUnavailable = "EndpointUnavailable"
	// ReasonSecretKeyNotFound: the Secret exists but lacks the key the spec names.
	ReasonSecretKeyNotFound = "SecretKeyNotFound"
	// ReasonInvalidPassword: the password Secret holds no usable password or bcrypt hash.
	ReasonInvalidPassword = "InvalidPassword"
	// ReasonPasswordEmpty: the password Secret's value is empty.
	ReasonPasswordEmpty = "PasswordEmpty"
	// ReasonInvalidAuthorizedKeys: the authorized_keys Secret cannot be used.
	ReasonInvalidAuthorizedKeys = "InvalidAuthorizedKeys"
	// ReasonTooManyKeys: more authorized keys than a user may have.
	ReasonTooManyKeys = "TooManyKeys"
	// ReasonEntryTooLarge: the user's config entry is larger than one user may add to the endpoint's config.
	ReasonEntryTooLarge = "EntryTooLarge"
	// ReasonGeneratedPasswordPending: the generated password's Secret is not written yet.
	ReasonGeneratedPasswordPending = "GeneratedPasswordPending"
	// ReasonPasswordSecretConflict (also an event): the generated password's Secret exists but the operator did
	// not make it.
	ReasonPasswordSecretConflict = "PasswordSecretConflict"
	// ReasonInvalidUser: the spec is invalid in a way the CRD's validation cannot see.
	ReasonInvalidUser = "InvalidUser"
	// ReasonNoCredentials: the user has nothing to log in with for the protocols it may use.
	ReasonNoCredentials = "NoCredentials"
	// ReasonSecretUnreadable: an API error other than not-found (RBAC, API server down) kept a Secret from
	// being read: not the user's fault, and retried.
	ReasonSecretUnreadable = "SecretUnreadable"
	// ReasonDuplicateUsername: an older TransferUser of the endpoint has the username.
	ReasonDuplicateUsername = "DuplicateUsername"
	// ReasonHomeOverlap: the home directory overlaps that of an older TransferUser of the endpoint.
	ReasonHomeOverlap = "HomeOverlap"
)

// Default Secret keys used when a SecretKeyReference leaves key empty.
const (
	DefaultPasswordKey       = "password"
	DefaultAuthorizedKeysKey = "authorized_keys"
)

// Conditioned is a pier object with status conditions: a TransferEndpoint or a TransferUser. Code that waits for
// a condition (tests, the local demo) works on either through it.
// +kubebuilder:object:generate=false
type Conditioned interface {
	GetGeneration() int64
	GetConditions() []metav1.Condition
}

// GetConditions returns the endpoint's status conditions.
func (t *TransferEndpoint) GetConditions() []metav1.Condition { return t.Status.Conditions }

// GetConditions returns the user's status conditions.
func (t *TransferUser) GetConditions() []metav1.Condition { return t.Status.Conditions }
