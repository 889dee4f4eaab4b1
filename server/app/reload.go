/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package app

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/pier-dev/pier/server/config"
)

// DefaultReloadInterval is how often the configuration file is checked for changes.
const DefaultReloadInterval = time.Second

// WatchConfig re-reads the configuration file every interval until ctx is done, and applies it when its content
// changed. Reading the file by name follows Kubernetes' ..data symlink swap of a mounted Secret, which a watch
// on the old file would miss; comparing content skips reloads of an unchanged file. An invalid file is refused
// with its errors logged once, and the last good configuration keeps serving.
func (s *Server) WatchConfig(ctx context.Context, path string, initial []byte, interval time.Duration) {
	last := initial
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			if !bytes.Equal(last, nil) {
				s.log.Error("cannot read the configuration file; keeping the last good configuration", "path", path, "error", err)
				last = nil
			}
			continue
		}
		if bytes.Equal(data, last) {
			continue
		}
		last = data
		s.reload(path, data)
	}
}

func (s *Server) reload(path string, data []byte) {
	cfg, err := config.Parse(data)
	if err == nil {
		err = s.Apply(cfg)
	}
	s.metrics.ConfigReload(err == nil)
	if err != nil {
		s.log.Error("refused the new configuration; keeping the last good one", "path", path, "error", err)
		return
	}
	s.log.Info("configuration reloaded", "path", path, "users", s.users.Len())
}
