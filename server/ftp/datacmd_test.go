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

package ftp

import (
	"fmt"
	"net/netip"
	"testing"
)

// FuzzActiveArguments: the PORT and EPRT parsers never panic, and whatever they accept is one address and port
// that the canonical form handed to ftpserverlib names again, exactly.
func FuzzActiveArguments(f *testing.F) {
	for _, seed := range []string{
		"|2|::1|5000|", "|1|127.0.0.1|5000|", "!2!::1!5000!", "|2|::ffff:127.0.0.1|5000|", "|2|fe80::1%lo|5000|",
		"|3|::1|5000|", "|2|::1|0|", "|2|::1|65536|", "||||", "|", "", "127,0,0,1,19,136", "256,0,0,1,1,1",
		"127,0,0,1,0,0", "0127,0,0,1,19,136", "|2|::|5000|", "0,0,0,0,19,136",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, param string) {
		if target, err := parsePORT(param); err == nil {
			a := target.Addr().As4()
			again, err := parsePORT(fmt.Sprintf("%d,%d,%d,%d,%d,%d", a[0], a[1], a[2], a[3], target.Port()>>8, target.Port()&0xff))
			if err != nil || again != target || !target.Addr().Is4() || target.Port() == 0 {
				t.Fatalf("PORT %q: %v, canonical form gives %v, %v", param, target, again, err)
			}
		}
		for _, want := range []string{netPrtIPv4, netPrtIPv6} {
			target, err := parseEPRT(param, want)
			if err != nil {
				continue
			}
			again, err := parseEPRT(fmt.Sprintf("|%s|%s|%d|", want, target.Addr(), target.Port()), want)
			if err != nil || again != target || target.Addr().Zone() != "" || target.Port() == 0 ||
				target.Addr().Is4() != (want == netPrtIPv4) {
				t.Fatalf("EPRT %q (protocol %s): %v, canonical form gives %v, %v", param, want, target, again, err)
			}
		}
	})
}

// TestParseEPRT pins what the parsers make of the forms clients send.
func TestParseEPRT(t *testing.T) {
	for _, tc := range []struct {
		param, want string
		ok          bool
	}{
		{"|2|::1|5000|", "[::1]:5000", true},
		{"!2!::1!5000!", "[::1]:5000", true},
		{" |2|2001:DB8::7|5000| ", "[2001:db8::7]:5000", true},
		{"|2|::ffff:10.0.0.1|5000|", "[::ffff:10.0.0.1]:5000", true},
		{"|1|::1|5000|", "", false},
		{"|2|10.0.0.1|5000|", "", false},
		{"|2|::1%eth0|5000|", "", false},
	} {
		got, err := parseEPRT(tc.param, netPrtIPv6)
		if tc.ok != (err == nil) || (tc.ok && got != netip.MustParseAddrPort(tc.want)) {
			t.Errorf("parseEPRT(%q) = %v, %v; want %s", tc.param, got, err, tc.want)
		}
	}
}
