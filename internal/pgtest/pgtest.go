// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// and pg_ctl in a temporary folder, on a free port of 127.0.0.1, stopped
// and removed when the test ends. Its binaries come from PATH, from
// /usr/local/bin or from Debian's postgresql package
// (/usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root, so as
// root (as in CI) the cluster runs as the postgres user. Without the
// binaries a test is skipped, unless CI=true, where it fails.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create databases
)

// Cluster is a running PostgreSQL cluster whose superuser is "acceso",
// trusted without a password on 127.0.0.1.
type Cluster struct {
	Port int
	next atomic.Int64
	// pgCtl runs pg_ctl on the cluster (Stop, Restart).
	pgCtl func(tb testing.TB, args ...string)
	opts  string
	// stopped is set between Stop and Restart.
	stopped atomic.Bool
}

// binDir finds the folder holding initdb and pg_ctl.
func binDir() (string, bool) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), true
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(dirs) // the newest version first
	for _, d := range append([]string{"/usr/local/bin"}, dirs...) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				return d, true
			}
		}
	}
	return "", false
}

// Start starts a cluster for the test; it is stopped, and its folder
// removed, when the test ends.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("an end-to-end test (starts PostgreSQL): skipped with -short")
	}
	bin, ok := binDir()
	if !ok {
		if os.Getenv("CI") == "true" {
			tb.Fatal("PostgreSQL (initdb, pg_ctl) is not installed; .ci/run installs Debian's postgresql package")
		}
		tb.Skip("PostgreSQL (initdb, pg_ctl) not found on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin")
	}
	dir, err := os.MkdirTemp("", "acceso-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "acceso", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	port := freePort(tb)
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "+
		"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port)
	c := &Cluster{Port: port, opts: opts, pgCtl: func(tb testing.TB, args ...string) {
		tb.Helper()
		run("pg_ctl", append([]string{"-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60"}, args...)...)
	}}
	c.pgCtl(tb, "-o", opts, "start")
	tb.Cleanup(func() {
		if c.running() {
			run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
		}
	})
	return c
}

// Stop stops the cluster as an outage does (fast shutdown: sessions are
// ended, connections refused) until Restart.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	c.pgCtl(tb, "-m", "fast", "stop")
	c.stopped.Store(true)
}

// Restart starts a stopped cluster again, on the same port.
func (c *Cluster) Restart(tb testing.TB) {
	tb.Helper()
	c.pgCtl(tb, "-o", c.opts, "start")
	c.stopped.Store(false)
}

func (c *Cluster) running() bool { return !c.stopped.Load() }

// URL is the address of database db in the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://acceso@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// NewDatabase creates an empty database in the cluster and returns its URL.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d", c.next.Add(1))
	admin, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	return c.URL(name)
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
