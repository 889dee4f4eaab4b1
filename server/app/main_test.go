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

package app

import (
	"testing"

	"github.com/pier-dev/pier/internal/localcluster/controlplane"
)

// env is the API server the config Secret tests share; each test works in its own namespace.
var env *controlplane.Env

func TestMain(m *testing.M) { controlplane.RunTests(m, controlplane.Options{}, &env) }
