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

// Package audit writes the kube-apiserver audit policy of the control-plane bench and reads the log it produces:
// every API write (create, update, patch, delete) of one identity, when it reached the API server and what it
// changed. An audit log counts exactly, where the manager's own client metrics would miss requests of a build
// that counts differently.
package audit

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"
)

// WriteVerbs are the verbs of requests that change objects.
var WriteVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// Policy is an audit policy that logs the writes of user, once per request when its response is complete, at the
// Metadata level (who, what, when; no bodies, so no Secret contents), and nothing else.
func Policy(user string) ([]byte, error) {
	p := auditv1.Policy{
		TypeMeta:   metav1.TypeMeta{APIVersion: auditv1.SchemeGroupVersion.String(), Kind: "Policy"},
		OmitStages: []auditv1.Stage{auditv1.StageRequestReceived, auditv1.StageResponseStarted},
		Rules: []auditv1.PolicyRule{
			{Level: auditv1.LevelMetadata, Users: []string{user}, Verbs: WriteVerbs},
			{Level: auditv1.LevelNone},
		},
	}
	data, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the audit policy: %w", err)
	}
	return data, nil
}

// Write is one API write request.
type Write struct {
	// Time is when the API server received the request.
	Time time.Time
	Verb string
	// Resource is the resource's plural name, with its subresource after a slash (transferusers/status).
	Resource  string
	Namespace string
	Name      string
	// Code is the response's HTTP status: a refused write (409 Conflict) was still a request.
	Code int32
}

// What says what the write did, without its time: "update transferusers/status bench/ep-0001-u01".
func (w Write) What() string {
	s := w.Verb + " " + w.Resource
	switch {
	case w.Namespace != "" && w.Name != "":
		s += " " + w.Namespace + "/" + w.Name
	case w.Namespace != "":
		s += " " + w.Namespace // a create of a generated name: the request has none yet
	case w.Name != "":
		s += " " + w.Name
	}
	if w.Code >= 300 {
		s += fmt.Sprintf(" (%d)", w.Code)
	}
	return s
}

// Read returns the writes of user in an audit log (JSON lines, one event a line), in the order logged. Events of
// other users and of reads are skipped, so a broader policy than Policy's reads the same.
func Read(r io.Reader, user string) ([]Write, error) {
	var out []Write
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var e auditv1.Event
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the audit log after %d writes: %w", len(out), err)
		}
		if e.Stage != auditv1.StageResponseComplete || e.User.Username != user || !slices.Contains(WriteVerbs, e.Verb) {
			continue
		}
		w := Write{Time: e.RequestReceivedTimestamp.Time, Verb: e.Verb}
		if ref := e.ObjectRef; ref != nil {
			w.Resource, w.Namespace, w.Name = ref.Resource, ref.Namespace, ref.Name
			if ref.Subresource != "" {
				w.Resource += "/" + ref.Subresource
			}
		}
		if e.ResponseStatus != nil {
			w.Code = e.ResponseStatus.Code
		}
		out = append(out, w)
	}
}

// ReadFile is Read of the log file at path; a log not written yet holds no writes.
func ReadFile(path, user string) ([]Write, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return Read(f, user)
}

// Between are the writes received at from or later and before to.
func Between(writes []Write, from, to time.Time) []Write {
	var out []Write
	for _, w := range writes {
		if !w.Time.Before(from) && w.Time.Before(to) {
			out = append(out, w)
		}
	}
	return out
}

// Count is how many writes were alike.
type Count struct {
	What string
	N    int
}

// Summarize groups writes by key (such as Write.What, or ByKind), the most frequent first, then by key.
func Summarize(writes []Write, key func(Write) string) []Count {
	n := map[string]int{}
	for _, w := range writes {
		n[key(w)]++
	}
	out := make([]Count, 0, len(n))
	for what, count := range n {
		out = append(out, Count{What: what, N: count})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return cmp.Compare(a.What, b.What)
	})
	return out
}

// ByKind is the verb and resource of a write, without the object's name: the key that says which code path wrote.
func ByKind(w Write) string { return w.Verb + " " + w.Resource }
