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

package report

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// ReplaceBetweenMarkers puts section between the begin and end marker lines of page, which must hold each once,
// in order: docs/performance.md keeps each harness's latest table between markers of its own.
func ReplaceBetweenMarkers(page, begin, end, section string) (string, error) {
	b := strings.Index(page, begin)
	e := strings.Index(page, end)
	if b < 0 || e < b || strings.Count(page, begin) != 1 || strings.Count(page, end) != 1 {
		return "", fmt.Errorf("want one %q line and then one %q line", begin, end)
	}
	return page[:b+len(begin)] + "\n" + strings.TrimRight(section, "\n") + "\n" + page[e:], nil
}

// UpdatePage replaces the section between the markers of the page in file (see ReplaceBetweenMarkers).
func UpdatePage(file, begin, end, section string) error {
	page, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	updated, err := ReplaceBetweenMarkers(string(page), begin, end, section)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return os.WriteFile(file, []byte(updated), 0o644)
}

// Machine describes this machine: CPU, cores, memory, kernel and Go.
func Machine() string {
	cpu := firstValue("/proc/cpuinfo", "model name")
	mem := firstValue("/proc/meminfo", "MemTotal")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var memGiB float64
	if _, err := fmt.Sscanf(mem, "%f kB", &memGiB); err == nil {
		mem = fmt.Sprintf("%.0f GiB", memGiB/1024/1024)
	}
	return fmt.Sprintf("%s, %d cores, %s memory, Linux %s, %s, shared with other builds and tests",
		cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

// firstValue is the value of the first "key: value" line of file with key.
func firstValue(file, key string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return "unknown"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
