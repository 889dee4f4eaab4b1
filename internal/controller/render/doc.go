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

// Package render builds every child object of a TransferEndpoint: the pier-server configuration and the Secret
// holding it, the Deployment, the Service, the storage claim, the cert-manager Certificate, the PodDisruptionBudget
// and the RBAC objects the server pod uses.
//
// Every function here is pure: it reads its arguments and returns a new object. It talks to no API server, reads
// no clock and draws no random numbers, so the same endpoint always renders to the same objects. The reconciler
// fetches what these functions need (users, host key names, the load balancer's address), calls them and applies
// the results. Golden files under testdata/ show exactly what each function produces.
//
// The functions take an endpoint with the API's defaults applied, as the API server returns it and as
// v1alpha1.TransferEndpoint.Default leaves a typed Go value (the reconciler calls it once per reconcile). They keep
// no defaults of their own: the API's live in api/v1alpha1, the server configuration's in internal/serverconfig.
package render
