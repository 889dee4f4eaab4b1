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
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/secretwatch"
)

// DefaultReloadInterval is how often the configuration file is checked for changes.
const DefaultReloadInterval = time.Second

// notifySettle is how long the configuration's folder must be quiet after a change notification before the file
// is read.
const notifySettle = 50 * time.Millisecond

// ConfigSecretKey is the key of the config Secret that holds the configuration file.
const ConfigSecretKey = "config.yaml"

// Where a new configuration came from, in logs and in the source label of pier_config_reloads_total.
const (
	sourceFile = "file"
	sourceAPI  = "api"
)

// WatchConfig re-reads the configuration file (path, or path.gz when there is no path: see config.ReadFile)
// when its folder reports a change and every interval until ctx is done, and applies it when its content changed. Reading the file by name follows Kubernetes' ..data symlink swap of a mounted Secret, which a watch
// on the old file would miss; comparing content skips reloads of an unchanged file. An invalid file is refused
// with its errors logged once, and the last good configuration keeps serving. initial is the content the server
// was built from.
//
// While WatchConfigSecret's watch is synced, file changes are ignored: the kubelet copies the Secret into the
// file a minute or so after the API server has it, so the file is never newer than what the watch delivered.
func (s *Server) WatchConfig(ctx context.Context, path string, initial []byte, interval time.Duration) {
	s.reloadMu.Lock()
	if s.applied == nil {
		s.applied = initial
	}
	s.reloadMu.Unlock()
	last := initial
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	changed := s.notifyChanges(ctx, path)
	// The first read comes at once: a change made after initial was read but before the watch began raised no
	// notification.
	for {
		last = s.checkFile(path, last)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-changed:
		}
	}
}

// checkFile reads the configuration file and applies it if it differs from last, the content read before; it
// returns the content read (nil when the file cannot be read, whose error is logged when it starts).
func (s *Server) checkFile(path string, last []byte) []byte {
	data, err := serverconfig.ReadFile(path)
	if err != nil {
		if !bytes.Equal(last, nil) {
			s.log.Error("cannot read the configuration file; keeping the last good configuration", "path", path, "error", err)
		}
		return nil
	}
	if !bytes.Equal(data, last) {
		// A change seen while the API is followed is dropped for good, not kept for later: it is an older copy
		// of what the API delivered.
		s.reloadFile(path, data)
	}
	return data
}

// notifyChanges returns a channel that receives when the configuration file at path changes (inotify), so that a
// new configuration is read at once rather than at the next tick: a user added to the file can log in within
// milliseconds instead of up to a second. It watches the file's folder, not the file, since a mounted Secret is
// updated by swapping the folder's ..data symlink and an editor or the operator may replace the file by a
// rename; of the folder's events it takes those of the file's name and of the kubelet's ..data entries, so that
// other files there (a log, say) do not keep it busy. The tick stays: a file system without notifications (or a
// full inotify table) still gets the change within interval. A nil channel (no notifications) never receives.
func (s *Server) notifyChanges(ctx context.Context, path string) <-chan struct{} {
	dir, name := filepath.Dir(path), filepath.Base(path)
	ours := func(event string) bool {
		base := filepath.Base(event)
		return base == name || base == name+serverconfig.GzipSuffix || strings.HasPrefix(base, "..")
	}
	watcher, err := fsnotify.NewWatcher()
	if err == nil {
		err = watcher.Add(dir)
		if err != nil {
			_ = watcher.Close() // it watched nothing yet
		}
	}
	if err != nil {
		s.log.Info("no change notifications for the configuration folder; it is checked every interval only",
			"dir", dir, "error", err)
		return nil
	}
	changed := make(chan struct{}, 1)
	go func() {
		defer func() { _ = watcher.Close() }() // the watch ends with the server; nothing to report
		var settled <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case event, ok := <-watcher.Events:
				if !ok {
					return
				}
				if !ours(event.Name) {
					continue
				}
				settled = time.After(settleAfter(event))
			case <-settled:
				settled = nil
				select {
				case changed <- struct{}{}:
				default:
				}
			case _, ok := <-watcher.Errors:
				if !ok {
					return
				}
				// An overflowed queue loses events, never the file: the next tick reads it.
			}
		}
	}()
	return changed
}

// settleAfter is how long to wait after event before reading the configuration. The kubelet's update of a mounted
// Secret ends with the rename that creates ..data (its copy is complete by then), so the file is read at once.
// Anything else waits until the folder has been quiet for notifySettle: a file written in place (or created and
// then written) is read whole, not half-written, and an update's events make one read.
func settleAfter(event fsnotify.Event) time.Duration {
	if filepath.Base(event.Name) == kubeletDataDir && event.Has(fsnotify.Create) {
		return 0
	}
	return notifySettle
}

// kubeletDataDir is the symlink of a mounted Secret's folder that the kubelet swaps, with a rename, to point at
// each new copy of the Secret's keys.
const kubeletDataDir = "..data"

// WatchConfigSecret follows the configuration through the Kubernetes API too: the key config.yaml (or, for a large
// configuration, config.yaml.gz) of the Secret
// namespace/name, which the operator renders and the kubelet mounts as the file that WatchConfig reads. The API
// delivers a change at once, where the kubelet refreshes the file only every 60-90 seconds.
//
// While the watch is synced the API server is the source of truth and file changes are ignored. While it is not
// (the API server cannot be reached, the pod's Role is missing, the Secret or its key is gone) the server keeps
// its configuration and WatchConfig applies file changes as it does without this watch. Each time the watch
// syncs again, the Secret's content is applied, so a file read meanwhile gives way to it. Blocks until ctx is
// done.
func (s *Server) WatchConfigSecret(ctx context.Context, secrets secretwatch.Secrets, namespace, name string) {
	secret := namespace + "/" + name
	w := &secretwatch.Watcher{
		Secrets: secrets, Namespace: namespace, Name: name, Keys: []string{ConfigSecretKey, ConfigSecretKey + serverconfig.GzipSuffix}, Log: s.log,
		OnChange: func(data []byte) {
			s.reloadMu.Lock()
			defer s.reloadMu.Unlock()
			s.reloadLocked(sourceAPI, data, "secret", secret)
		},
	}
	s.secret.Store(w)
	w.Run(ctx)
}

// reloadFile applies the file's new content unless the API watch is synced. It checks under reloadMu, which the
// watch also holds to apply the Secret's content after it reports synced: so a file change can never be applied
// after the Secret's content that supersedes it.
func (s *Server) reloadFile(path string, data []byte) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if w := s.secret.Load(); w != nil && w.Synced() {
		s.log.Debug("the configuration file changed; ignored while the config Secret is watched through the Kubernetes API",
			"path", path)
		return
	}
	s.reloadLocked(sourceFile, data, "path", path)
}

// reloadLocked parses and applies data, which came from source; attrs say where, for the log. Content equal to
// the configuration in use is skipped, and so is content refused last time: both sources often deliver the same
// bytes, and a refused configuration stays refused until it changes. s.reloadMu must be held.
func (s *Server) reloadLocked(source string, data []byte, attrs ...any) {
	if s.applied != nil && bytes.Equal(data, s.applied) {
		return
	}
	if s.refused != nil && bytes.Equal(data, s.refused) {
		return
	}
	attrs = append(attrs, "source", source)
	cfg, err := serverconfig.Parse(data)
	if err == nil {
		err = s.Apply(cfg)
	}
	s.metrics.ConfigReload(source, err == nil)
	if err != nil {
		s.refused = data
		s.log.Error("refused the new configuration; keeping the last good one", append(attrs, "error", err)...)
		return
	}
	s.applied, s.refused = data, nil
	s.log.Info("configuration reloaded", append(attrs, "users", s.users.Len())...)
}
