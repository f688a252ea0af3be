package publish

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"acceso/knowledge"
	"acceso/rules"
	"acceso/sandbox"
)

// reloadDebounce is how long the rules folder must be quiet before a
// change is loaded: an editor's save is often several events.
const reloadDebounce = 200 * time.Millisecond

// Watch serves the changes of the --rules folder until ctx is done. A
// change goes through Reload; after each, reloaded (when not nil) is told
// whether the folder's files are now served. The watch covers the folder
// and its subfolders.
func (p *Publisher) Watch(ctx context.Context, reloaded func(ok bool)) error {
	dir := p.cfg.RulesDir
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := watchTree(w, dir); err != nil {
		return err
	}
	p.log.Info("watching rules", "dir", dir)
	defer p.log.Info("stopped watching rules", "dir", dir)

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
			p.log.Warn("watching rules", "err", err)
		case <-quiet.C:
			err := p.Reload(ctx)
			if reloaded != nil {
				reloaded(err == nil)
			}
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
// file, a message file (.toml, under locales/), or a folder (no extension) created, removed or renamed. Editors'
// swap and backup files are ignored.
func concernsRules(ev fsnotify.Event) bool {
	if strings.HasSuffix(ev.Name, ".rego") || strings.HasSuffix(ev.Name, ".toml") {
		return true
	}
	return filepath.Ext(ev.Name) == "" && !strings.HasSuffix(ev.Name, "~") &&
		ev.Has(fsnotify.Create|fsnotify.Remove|fsnotify.Rename)
}

// Reload verifies the --rules folder's rules with the checks a publish
// runs (compile, Rego tests, texts in every language, sample evaluations),
// with no preview and nothing stored: the folder is the record. Rules that
// pass are served; a change that fails keeps the last good rules serving,
// and each of its problems is logged as file:line: message and returned.
func (p *Publisher) Reload(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	src, err := readDir(p.cfg.RulesDir)
	var policy *rules.Policy
	if err == nil {
		// Explore checks the self-diagnosis (flow.Check) where the draft
		// is built.
		policy, _, err = p.buildDraft(ctx, src, sandbox.Exam{Explore: true})
	}
	if err != nil {
		problems, ok := knowledge.AsProblems(err)
		if !ok {
			problems = knowledge.Problems{{File: p.cfg.RulesDir, Message: err.Error()}}
		}
		for _, pr := range problems {
			p.log.Warn("rules change refused; the last good rules keep serving", "problem", pr.String())
		}
		return problems
	}
	if cur := p.engine.Current(); cur.Revision == policy.Revision {
		return nil
	}
	old := p.engine.Swap(policy)
	p.log.Info("rules reloaded", "revision", policy.Revision, "from", old.Revision, "causes", len(policy.Catalog.Causes))
	return nil
}
