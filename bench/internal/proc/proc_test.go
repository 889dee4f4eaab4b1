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

package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// statLine is a /proc/PID/stat line as Linux writes it, with the times given in ticks.
func statLine(pid int, comm string, ppid int, utime, stime, cutime, cstime int) string {
	return fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 1200 0 0 0 %d %d %d %d 20 0 1 0 100 10000000 500 "+
		"18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0", pid, comm, ppid, pid, pid, utime, stime, cutime, cstime)
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Stat
	}{
		{"plain", statLine(42, "sshd", 1, 150, 50, 7, 3), Stat{PID: 42, PPID: 1, State: 'S', CPU: 2100 * time.Millisecond}},
		// A command name may hold spaces and parentheses: the fields after it start after the last ')'.
		{"odd name", statLine(7, "a) b (c", 3, 1, 0, 0, 0), Stat{PID: 7, PPID: 3, State: 'S', CPU: 10 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseStat = %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "42 sshd S 1", "x (sshd) S 1 1 1 0 -1 0 0 0 0 0 1 1 1 1", "42 (sshd) S 1 2 3"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) accepted a broken line", bad)
		}
	}
}

// fakeProc writes a /proc with the given stat lines and smaps_rollup contents.
func fakeProc(t *testing.T, stats map[int]string, smaps map[int]string) FS {
	t.Helper()
	root := t.TempDir()
	for pid, line := range stats {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "smaps_rollup"), []byte(smaps[pid]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Entries that are not processes are ignored.
	if err := os.WriteFile(filepath.Join(root, "meminfo"), []byte("MemTotal: 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return FS{Root: root}
}

func smapsRollup(rssKB, pssKB int) string {
	return fmt.Sprintf("00400000-7fff00000000 ---p 00000000 00:00 0 [rollup]\nRss: %d kB\nPss: %d kB\n"+
		"Pss_Anon: 1 kB\nShared_Clean: 0 kB\n", rssKB, pssKB)
}

// An sshd-like tree: the listener, a session and its sftp-server, beside an unrelated process and its child.
func TestTreeSumsDescendantsOnly(t *testing.T) {
	p := fakeProc(t, map[int]string{
		100: statLine(100, "sshd", 1, 10, 10, 300, 100), // 400 ticks of reaped sessions
		200: statLine(200, "sshd", 100, 5, 5, 0, 0),
		300: statLine(300, "sftp-server", 200, 80, 20, 0, 0),
		400: statLine(400, "other", 1, 1000, 0, 0, 0),
		500: statLine(500, "other child", 400, 1000, 0, 0, 0),
	}, map[int]string{
		100: smapsRollup(4000, 1000),
		200: smapsRollup(3000, 600),
		300: smapsRollup(2000, 400),
		400: smapsRollup(99999, 99999),
		// 500: a zombie, whose smaps_rollup is empty
	})
	cpu, n, err := p.TreeCPU(100)
	if err != nil {
		t.Fatal(err)
	}
	if want := 5300 * time.Millisecond; cpu != want || n != 3 {
		t.Errorf("TreeCPU(100) = %v over %d processes, want %v over 3", cpu, n, want)
	}
	mem, err := p.TreeMemory(100)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 9000 * 1024, PSS: 2000 * 1024}); mem != want {
		t.Errorf("TreeMemory(100) = %+v, want %+v", mem, want)
	}
	if mem, err := p.TreeMemory(400); err != nil || mem.RSS != 99999*1024 {
		t.Errorf("TreeMemory(400) = %+v, %v; want the zombie child skipped", mem, err)
	}
	children, err := p.Children(1)
	if err != nil || len(children) != 2 || children[0].PID+children[1].PID != 500 {
		t.Errorf("Children(1) = %+v, %v; want 100 and 400", children, err)
	}
	if _, _, err := p.TreeCPU(999); err == nil {
		t.Error("TreeCPU of a process that does not run gave no error")
	}
}

func TestParseSmapsRollupNeedsBothLines(t *testing.T) {
	if _, err := ParseSmapsRollup([]byte("Rss: 10 kB\n")); err == nil {
		t.Error("a rollup without Pss was accepted")
	}
	if _, err := ParseSmapsRollup([]byte("Rss: ten kB\nPss: 1 kB\n")); err == nil {
		t.Error("a rollup with a broken number was accepted")
	}
}

// The real /proc: this test process uses CPU and memory, and the reading agrees with Go's own view of it.
func TestRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps_rollup"); err != nil {
		t.Skip("no /proc/PID/smaps_rollup here (Linux 4.14 or later has it)")
	}
	cpu, n, err := Default.TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 || cpu < 0 {
		t.Errorf("TreeCPU(self) = %v over %d processes", cpu, n)
	}
	mem, err := Default.TreeMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if mem.RSS <= 0 || mem.PSS <= 0 || mem.PSS > mem.RSS {
		t.Errorf("TreeMemory(self) = %+v; want 0 < PSS <= RSS", mem)
	}
}

func TestParsePeakRSS(t *testing.T) {
	status := "Name:\tmanager\nVmPeak:\t 1500000 kB\nVmSize:\t 1400000 kB\nVmHWM:\t  216064 kB\nVmRSS:\t  180000 kB\n"
	if got, err := ParsePeakRSS([]byte(status)); err != nil || got != 216064*1024 {
		t.Errorf("ParsePeakRSS = %d, %v; want VmHWM, %d bytes", got, err, 216064*1024)
	}
	for _, bad := range []string{"Name:\tzombie\nState:\tZ (zombie)\n", "VmHWM:\t lots kB\n"} {
		if _, err := ParsePeakRSS([]byte(bad)); err == nil {
			t.Errorf("ParsePeakRSS(%q) gave no error", bad)
		}
	}
}

// The real /proc: this process's peak is at least what it holds now.
func TestRealPeakRSS(t *testing.T) {
	peak, err := Default.PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	mem, err := Default.TreeMemory(os.Getpid())
	if err != nil {
		t.Skip(err)
	}
	if peak <= 0 || peak < mem.RSS/2 {
		t.Errorf("PeakRSS(self) = %d bytes, RSS now %d", peak, mem.RSS)
	}
	if _, err := Default.PeakRSS(1 << 30); err == nil {
		t.Error("PeakRSS of a process that does not exist gave no error")
	}
}
