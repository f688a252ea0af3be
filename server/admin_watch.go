package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"acceso/rules"
)

// reloadDebounce is how long the rules folder must be quiet before a
// change is loaded: an editor's save is often several events.
const reloadDebounce = 200 * time.Millisecond

// reloadMetrics tell an operator whether the rules folder's last change
// was served.
type reloadMetrics struct {
	failures prometheus.Counter
	ok       prometheus.Gauge
}

// newReloadMetrics registers the reload metrics on reg. A registry takes
// them once: New calls it, not each Run.
func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acceso_rules_reload_failures_total",
			Help: "Changes to the --rules folder that were refused; the last good rules kept serving.",
		}),
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "acceso_rules_reload_ok",
			Help: "1 when the --rules folder's current files are being served, 0 when its last change was refused.",
		}),
	}
	reg.MustRegister(m.failures, m.ok)
	m.ok.Set(1) // the server started on this folder's rules
	return m
}

// watchRules serves the changes of the --rules folder until ctx is done.
// A change is built with rules.Build, the checks a publish runs too
// (compile, Rego tests, texts in every language, sample evaluations), but
// with no preview and nothing stored: the folder is the record. A change
// that fails keeps the last good rules serving, and each of its problems
// is logged as file:line: message. The watch covers the folder and its
// subfolders.
func (s *Server) watchRules(ctx context.Context) error {
	dir := s.cfg.RulesDir
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := watchTree(w, dir); err != nil {
		return err
	}
	s.log.Info("watching rules", "dir", dir)
	defer s.log.Info("stopped watching rules", "dir", dir)

	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					_ = watchTree(w, ev.Name)
				}
			}
			if concernsRules(ev) {
				quiet.Reset(reloadDebounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.Warn("watching rules", "err", err)
		case <-quiet.C:
			s.reloadRules(ctx, s.reload)
		}
	}
}

// watchTree watches dir and every folder under it.
func watchTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return w.Add(path)
		}
		return nil
	})
}

// concernsRules reports whether an event may change the rules: a .rego
// file, or a folder (no extension) created, removed or renamed. Editors'
// swap and backup files are ignored.
func concernsRules(ev fsnotify.Event) bool {
	if strings.HasSuffix(ev.Name, ".rego") {
		return true
	}
	return filepath.Ext(ev.Name) == "" && !strings.HasSuffix(ev.Name, "~") &&
		ev.Has(fsnotify.Create|fsnotify.Remove|fsnotify.Rename)
}

// reloadRules verifies the folder's rules and serves them if they pass.
func (s *Server) reloadRules(ctx context.Context, m *reloadMetrics) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	p, err := s.loadRulesDir(ctx)
	if err != nil {
		m.failures.Inc()
		m.ok.Set(0)
		problems, ok := rules.AsProblems(err)
		if !ok {
			problems = rules.Problems{{File: s.cfg.RulesDir, Message: err.Error()}}
		}
		for _, p := range problems {
			s.log.Warn("rules change refused; the last good rules keep serving", "problem", p.String())
		}
		return
	}
	m.ok.Set(1)
	if cur := s.engine.Current(); cur.Revision == p.Revision {
		return
	}
	old := s.engine.Swap(p)
	s.log.Info("rules reloaded", "revision", p.Revision, "from", old.Revision, "causes", len(p.Catalog.Causes))
}

func (s *Server) loadRulesDir(ctx context.Context) (*rules.Policy, error) {
	src, err := rules.FromDir(s.cfg.RulesDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, rules.Problems{{File: s.cfg.RulesDir, Message: "the folder or one of its files is gone"}}
		}
		return nil, err
	}
	return rules.Build(ctx, src, rules.Options{Deadline: s.cfg.Deadline})
}
