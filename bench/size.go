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

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// parseSize reads a size such as 1G, 256M, 512k, "64 KiB" or 4096 (bytes); the suffixes are binary (G is GiB), as dd's
// and the sizes are. A size must be a whole number of 8 KiB, so that eight parallel streams get equal
// shares of whole blocks.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToUpper(strings.ReplaceAll(s, " ", "")), "B")
	t = strings.TrimSuffix(t, "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = kib, t[:n-1]
		case 'M':
			mult, t = mib, t[:n-1]
		case 'G':
			mult, t = gib, t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as 1G, 256M or 64K", s)
	}
	size := n * mult
	if size%(8*kib) != 0 {
		return 0, fmt.Errorf("%q is not a multiple of 8 KiB", s)
	}
	return size, nil
}

// formatSize writes a size the way parseSize reads it, in the largest unit that divides it.
func formatSize(n int64) string {
	switch {
	case n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d B", n)
}
