package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"acceso/knowledge"
	"acceso/rules"
)

// niceness is the child's scheduling priority: below the server's.
const niceness = 10

// maxRequest bounds the draft the child reads.
const maxRequest = 64 << 20

// IsChild reports whether this process was started by Check to verify a
// draft. main calls it first thing and, when it is true, exits with Main's
// status instead of doing anything else.
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// Main is the child's side of Run: it limits itself, reads the draft and
// its exam as JSON from stdin, verifies the draft with rules.Build, answers
// the exam with it (Examine), and writes the verdict as JSON to stdout. It returns the process's exit status: 0 when it wrote a
// verdict, whether ok or not.
//
// checks are more checks of a built draft whose self-diagnosis is explored
// (Exam.Explore), such as the size of the site's pages (server.CheckPages):
// they evaluate the draft, so they run here too.
func Main(stdin io.Reader, stdout io.Writer, checks ...func(context.Context, *rules.Policy) knowledge.Problems) int {
	if err := limitSelf(os.Getenv(limitsEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: limiting the check:", err)
		return 1
	}
	var req request
	dec := json.NewDecoder(io.LimitReader(stdin, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: reading the draft:", err)
		return 1
	}
	src := knowledge.Source{Modules: req.Modules, Messages: req.Messages, Docs: req.Docs}
	ctx := context.Background()
	r := reply{OK: true, Revision: src.Revision()}
	policy, err := rules.Build(ctx, src, rules.Options{})
	if err == nil {
		var res Result
		if res, err = Examine(ctx, policy, req.Exam); err == nil {
			r.Result = &res
		}
		for _, check := range checks {
			if err != nil || !req.Exam.Explore {
				break
			}
			if problems := check(ctx, policy); len(problems) > 0 {
				err = problems
			}
		}
	}
	if err != nil {
		problems, ok := knowledge.AsProblems(err)
		if !ok {
			problems = knowledge.Problems{{File: "rules", Message: err.Error()}}
		}
		r = reply{Problems: problems}
	}
	if err := json.NewEncoder(stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: writing the verdict:", err)
		return 1
	}
	return 0
}

// limitSelf applies the limits given as JSON: CPU time (SIGXCPU at the
// limit ends the child with exitCPU; the kernel kills it a second later if
// that fails), address space, a soft Go memory limit at three quarters of
// what the address space leaves beyond goReserved (so the collector works
// harder before an allocation fails), and a lower priority.
func limitSelf(limitsJSON string) error {
	var lim Limits
	if err := json.Unmarshal([]byte(limitsJSON), &lim); err != nil {
		return fmt.Errorf("reading %s: %w", limitsEnv, err)
	}
	lim = lim.withDefaults()

	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, "sandbox: CPU time limit reached")
		os.Exit(exitCPU)
	}()
	cpu := uint64((lim.CPU + time.Second - 1) / time.Second)
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cpu, Max: cpu + 1}); err != nil {
		return fmt.Errorf("RLIMIT_CPU: %w", err)
	}
	as := uint64(lim.Memory)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
		return fmt.Errorf("RLIMIT_AS: %w", err)
	}
	if heap := lim.Memory - goReserved; heap > 0 {
		debug.SetMemoryLimit(heap * 3 / 4)
	}
	return lowerPriority()
}

// lowerPriority sets every thread of the process to niceness: on Linux a
// nice value belongs to a thread, and a new thread takes its creator's.
func lowerPriority() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return syscall.Setpriority(syscall.PRIO_PROCESS, 0, niceness)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, niceness); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("setpriority: %w", err)
		}
	}
	return nil
}
