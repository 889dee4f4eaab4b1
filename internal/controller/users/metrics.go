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

package users

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pier-dev/pier/internal/credentials"
)

// passwordHashes counts the operator's bcrypt operations on users' passwords. Each costs tens of milliseconds of
// CPU at the default cost, so it is the figure that says whether the operator scales with its users: a password
// should cost one hash (and a comparison, when it replaces one) per change of its Secret, and nothing while
// nothing changes.
var passwordHashes = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "pier_manager_password_hashes_total",
	Help: "bcrypt operations of the operator on users' passwords: op=hash for a new hash, op=compare for a " +
		"password checked against the hash its endpoint serves.",
}, []string{"op"})

// The operations, as the label op gives them.
const (
	opHash    = "hash"
	opCompare = "compare"
)

func init() {
	// Both series exist from the start, so that a dashboard or a test reads 0 rather than nothing.
	passwordHashes.WithLabelValues(opHash)
	passwordHashes.WithLabelValues(opCompare)
	metrics.Registry.MustRegister(passwordHashes)
}

// countBcrypt adds what one HashPassword spent to passwordHashes.
func countBcrypt(work credentials.BcryptWork) {
	if work.Compared {
		passwordHashes.WithLabelValues(opCompare).Inc()
	}
	if work.Hashed {
		passwordHashes.WithLabelValues(opHash).Inc()
	}
}
