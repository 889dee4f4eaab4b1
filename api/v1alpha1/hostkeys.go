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

// AnnotationRegenerateHostKeys on a TransferEndpoint asks the operator for new generated SSH host keys. Any value
// other than status.lastHandledHostKeyRegeneration is a request, acted on once; the value is then recorded there.
// A request is an annotation rather than a spec field because it is an action, not a desired state: a GitOps
// repository can keep the annotation, and only changing its value asks again (kubectl annotate --overwrite
// transferendpoint NAME transfer.pier.dev/regenerate-host-keys="$(date +%s)").
const AnnotationRegenerateHostKeys = "transfer.pier.dev/regenerate-host-keys"

// AnnotationAddHostKeys on a TransferEndpoint asks the operator to add generated SSH host keys beside the ones it
// serves: one of each type in spec.sftp.generatedHostKeyTypes that it does not serve yet. It is the first step of
// a rotation without a flag day (add, hand the new fingerprint to partners, retire the old key with
// spec.sftp.retiredHostKeys). SSH offers a client one key per type, so a new key must be of a type the endpoint
// does not serve. Any value other than status.lastHandledHostKeyAddition is a request, acted on once.
const AnnotationAddHostKeys = "transfer.pier.dev/add-host-keys"

// Reasons of a RetiredHostKey.
const (
	// HostKeyRetiredRegenerated: new keys were generated because AnnotationRegenerateHostKeys asked for them.
	HostKeyRetiredRegenerated = "Regenerated"
	// HostKeyRetiredSecretChanged: the keys in the host-key Secret changed (a user rotated their own Secret, or
	// someone edited the one the operator generated).
	HostKeyRetiredSecretChanged = "SecretChanged"
	// HostKeyRetiredOnRequest: spec.sftp.retiredHostKeys named the key, and the operator removed it.
	HostKeyRetiredOnRequest = "Retired"
)
