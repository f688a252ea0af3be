// Package sandbox verifies a draft of the rules outside the serving process,
// and answers with it there whatever else a check asks (Exam: the admin's
// sample, the self-diagnosis, kept decisions; Examine): a draft is never
// evaluated in the serving process before it is published. Run (and Check)
// starts the current executable again as a child (entered through IsChild
// and Main), sends it the draft as JSON on stdin, and reads its verdict as
// JSON on stdout. The child limits its own CPU time and address
// space and lowers its priority before it reads the draft; the parent bounds
// the wall clock and kills the child's process group when it runs past it.
// However a draft misbehaves (a runaway test, an allocation that never
// ends), the serving process neither stalls nor grows: it gets a
// knowledge.Problems that says which limit the draft ran into.
package sandbox

import (
	"acceso/knowledge"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// The child is entered by childEnv=1 in its environment and reads its
// limits from limitsEnv. Its arguments, "rules check-isolated", are only for
// a reader of ps.
const (
	childEnv  = "ACCESO_SANDBOX_CHILD"
	limitsEnv = "ACCESO_SANDBOX_LIMITS"
)

// Default limits of one check.
const (
	DefaultWall = 30 * time.Second
	DefaultCPU  = 20 * time.Second
	// DefaultMemory bounds the child's address space (RLIMIT_AS), which
	// is not its heap: the Go runtime reserves address space it never
	// touches. Measured with Go 1.26 on linux/amd64: a program that does
	// nothing has 1.23 GB of address space; the child building the embedded
	// rules peaks at 1.52 GB with a 1.5 GiB limit (1.72 GB unlimited), while
	// its resident memory peaks at 31 MB. Under 1 GiB the runtime cannot
	// even start ("runtime: cannot allocate memory"). 2 GiB leaves a draft
	// about 700 MB of heap.
	DefaultMemory = 2 << 30
)

// goReserved is the address space the Go runtime reserves beyond the heap
// (see DefaultMemory).
const goReserved = 1280 << 20

// Limits bound one check. A zero field takes its default.
type Limits struct {
	// Wall bounds the elapsed time of the check, enforced by the parent.
	Wall time.Duration `json:"wall"`
	// CPU bounds the child's CPU time (RLIMIT_CPU, whole seconds, rounded up).
	CPU time.Duration `json:"cpu"`
	// Memory bounds the child's address space in bytes (RLIMIT_AS); the Go
	// heap is asked to stay within three quarters of what is left after the
	// runtime's own reserve.
	Memory int64 `json:"memory"`
}

func (l Limits) withDefaults() Limits {
	if l.Wall <= 0 {
		l.Wall = DefaultWall
	}
	if l.CPU <= 0 {
		l.CPU = DefaultCPU
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	return l
}

// request is what the parent sends the child on stdin.
type request struct {
	Modules  map[string]string `json:"modules"`
	Messages map[string][]byte `json:"messages"`
	Docs     map[string]string `json:"docs,omitempty"`
	Exam     Exam              `json:"exam"`
}

// reply is what the child answers on stdout: ok, the revision it verified
// and the draft's answers to the exam, or the problems that refuse it.
type reply struct {
	OK       bool               `json:"ok"`
	Revision string             `json:"revision,omitempty"`
	Result   *Result            `json:"result,omitempty"`
	Problems knowledge.Problems `json:"problems,omitempty"`
}

// exitCPU is the child's exit status when it receives SIGXCPU: it used its
// CPU time.
const exitCPU = 3

// maxOutput bounds what the parent keeps of the child's stdout and stderr.
const maxOutput = 1 << 20

// Check verifies src with rules.Build in a child process within lim. It
// returns nil when src is fit to publish, knowledge.Problems when it is not
// (including when the check ran into a limit or the child crashed), and
// another error when the child could not be run or ctx ended first.
func Check(ctx context.Context, src knowledge.Source, lim Limits) error {
	_, err := Run(ctx, src, Exam{}, lim)
	return err
}

// Run is Check that, once the draft is verified, also answers exam with it
// in the child (see Examine): the serving process only reads the answers.
func Run(ctx context.Context, src knowledge.Source, exam Exam, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	exe, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: finding the executable: %w", err)
	}
	in, err := json.Marshal(request{Modules: src.Modules, Messages: src.Messages, Docs: src.Docs, Exam: exam})
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: encoding the draft: %w", err)
	}
	limits, err := json.Marshal(lim)
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: encoding the limits: %w", err)
	}

	wallCtx, cancel := context.WithTimeout(ctx, lim.Wall)
	defer cancel()
	cmd := exec.CommandContext(wallCtx, exe, "rules", "check-isolated")
	// Nothing of the parent's environment (database addresses, tokens)
	// reaches the child.
	cmd.Env = []string{childEnv + "=1", limitsEnv + "=" + string(limits), "GOMAXPROCS=1"}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(in)
	stdout, stderr := &capped{max: maxOutput}, &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second

	runErr := cmd.Run()
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("sandbox: %w", ctx.Err())
	}
	if errors.Is(wallCtx.Err(), context.DeadlineExceeded) {
		return Result{}, problem(fmt.Sprintf("checking the draft took longer than %v; a rule or a test runs too long: look for large ranges or nested iterations", lim.Wall))
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return Result{}, fmt.Errorf("sandbox: running the check: %w", runErr)
	}
	return verdict(outcome{
		state:     cmd.ProcessState,
		stdout:    stdout,
		stderr:    stderr,
		revision:  src.Revision(),
		cpuLimit:  lim.CPU,
		memoryLim: lim.Memory,
	})
}

// outcome is what the parent knows of a child that ended on its own.
type outcome struct {
	state          *os.ProcessState
	stdout, stderr *capped
	revision       string
	cpuLimit       time.Duration
	memoryLim      int64
}

// verdict turns how the child ended into its result or knowledge.Problems.
func verdict(o outcome) (Result, error) {
	status, _ := o.state.Sys().(syscall.WaitStatus)
	used := o.state.UserTime() + o.state.SystemTime()
	errText := o.stderr.String()
	switch {
	case o.state.Success():
		return readReply(o.stdout, o.revision)
	case status.Exited() && status.ExitStatus() == exitCPU,
		status.Signaled() && status.Signal() == syscall.SIGXCPU,
		status.Signaled() && status.Signal() == syscall.SIGKILL && used >= o.cpuLimit-time.Second:
		return Result{}, problem(fmt.Sprintf("checking the draft used more than %v of CPU time; a rule or a test runs too long: look for large ranges or nested iterations", o.cpuLimit))
	case outOfMemory(errText):
		return Result{}, problem(fmt.Sprintf("checking the draft needed more than %s of memory; a rule or a test builds too large a value: look for large ranges or comprehensions", bytesText(o.memoryLim)))
	default:
		how := o.state.String() // "exit status 2", "signal: killed"
		if line := firstLine(errText); line != "" {
			how += ": " + line
		}
		return Result{}, problem("checking the draft crashed (" + how + ")")
	}
}

// readReply decodes the child's reply: exactly one reply object whose
// revision is the draft's.
func readReply(stdout *capped, revision string) (Result, error) {
	malformed := func(why string) (Result, error) {
		return Result{}, problem("checking the draft gave a malformed reply (" + why + ")")
	}
	if stdout.truncated {
		return malformed("too long")
	}
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	dec.DisallowUnknownFields()
	var r reply
	if err := dec.Decode(&r); err != nil {
		return malformed(err.Error())
	}
	if dec.More() {
		return malformed("more than one value")
	}
	switch {
	case r.OK && len(r.Problems) > 0:
		return malformed("ok with problems")
	case r.OK && r.Revision != revision:
		return malformed(fmt.Sprintf("revision %q; want %q", r.Revision, revision))
	case r.OK && r.Result == nil:
		return Result{}, nil
	case r.OK:
		return *r.Result, nil
	case len(r.Problems) == 0:
		return malformed("refused without a problem")
	default:
		return Result{}, r.Problems
	}
}

func problem(msg string) knowledge.Problems {
	return knowledge.Problems{{File: "rules", Message: msg}}
}

// outOfMemory reports whether the child's stderr shows it ran out of
// address space: the Go runtime's fatal error, or a failed mmap for a
// thread or a stack.
func outOfMemory(stderr string) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "failed to create new OS thread"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func bytesText(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// capped keeps the first max bytes written to it and notes that more came.
type capped struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); len(p) > room {
		c.truncated = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}
