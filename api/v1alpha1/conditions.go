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
