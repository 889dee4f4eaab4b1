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

// Package pki makes and keeps the X.509 certificates pier needs where cert-manager does not run: the local CA of
// make demo and the end-to-end tests, the CA and server certificate of `pier-server portable`, the certificates of
// hack/nodecluster's control plane and those of tests. Every key is ECDSA P-256; every certificate gets a random
// serial number. The callers choose subjects, names and lifetimes, so each keeps its own.
//
// Imports: pki is a leaf. It imports no pier package, so that everyone may import it: the operator, pier-server
// (portable mode), the local cluster and demo, hack/nodecluster and the tests. SSH keys and passwords live in the
// other leaf, internal/credentials.
package pki
