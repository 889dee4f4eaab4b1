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

// Package credentials is pier's one home for login credentials: it turns what users give (a Secret's password or
// bcrypt hash, authorized_keys content, inline keys, an authorized_keys file) into what pier-server's
// configuration carries (bcrypt hashes, normalized authorized_keys lines), generates passwords, and generates,
// encodes and keeps SSH keys (host keys, the demo's and tests' user keys). It talks to no API server: the
// reconcilers read the Secrets and pass their bytes in.
//
// Imports: credentials imports no pier package but the contract, internal/serverconfig, whose rules of what the
// server accepts (key types, the form and cost of bcrypt hashes, RSA host key sizes) it applies instead of
// restating them; it may refuse more than the server does, never less. The contract imports neither this package
// nor the operator. Everyone else may import credentials: the operator (internal/controller/...), pier-server
// (server/..., portable mode), the local cluster and demo, hack/ and the tests. X.509 certificates live in the
// other leaf, internal/pki.
package credentials
