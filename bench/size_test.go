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

package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1G": 1 << 30, "1GiB": 1 << 30, "256M": 256 << 20, "256m": 256 << 20, "64K": 64 << 10, "8192": 8192, " 2g ": 2 << 30,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := parseSize(formatSize(got)); err != nil || back != got {
			t.Errorf("parseSize(formatSize(%d)) = %d, %v", got, back, err)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "1T", "1.5G", "1000", "abc"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted it", bad)
		}
	}
}
