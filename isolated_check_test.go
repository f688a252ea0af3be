package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/internal/interop"
)

// TestIsolatedCheckLatency measures what an admin's runaway draft costs
// the public: the p50 and p99 of POST /api/v1/evaluate for 10 s before a
// check and 10 s while the isolated check of a draft that never ends runs
// (the numbers in the Security section of README). The measurement is
// reported, not asserted; what is asserted is that every request answered
// 200 and that the draft was refused. It runs only with ACCESO_LOADTEST=1.
func TestIsolatedCheckLatency(t *testing.T) {
	if os.Getenv("ACCESO_LOADTEST") != "1" {
		t.Skip("a load test: run with ACCESO_LOADTEST=1")
	}
	mix, err := interop.ReadMix(filepath.Join("..", "shared", "bench", "mix.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := buildTool(t, dir, "acceso", ".")
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "admin", "add", "--data", data, "ana")
	cmd.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("admin add: %v\n%s", err, out)
	}
	base := "http://" + serveBinary(t, bin, freeAddr(t), "--data", data).addr

	evaluate(t, base, mix, 3*time.Second) // warm up
	before := evaluate(t, base, mix, 10*time.Second)

	admin := signIn(t, base, "ana", "correct horse battery")
	const file = "rules/login/causes_test.rego"
	form, text := moduleForm(t, admin, base, file)
	form.Set("file", file)
	form.Set("text", text+"\ntest_runaway if count([y | some y in numbers.range(1, 100000000)]) > 0\n")
	form.Set("action", "preview")
	checked := make(chan string, 1)
	start := time.Now()
	go func() {
		resp, err := admin.PostForm(base+"/admin/module", form)
		if err != nil {
			checked <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		checked <- string(b)
	}()
	time.Sleep(200 * time.Millisecond)
	during := evaluate(t, base, mix, 10*time.Second)
	page := <-checked
	took := time.Since(start)

	t.Logf("before the check: %s", before)
	t.Logf("during the check: %s", during)
	t.Logf("the check answered in %v", took.Round(time.Millisecond))
	if before.failed+during.failed > 0 {
		t.Errorf("%d requests did not answer 200 before the check, %d during it; want none", before.failed, during.failed)
	}
	// The child stops at its memory limit, or, when this machine starves
	// it, at the Rego runner's timeout: refused either way.
	outside := moduleText.ReplaceAllString(page, "")
	if !strings.Contains(outside, "more than 2 GiB") && !strings.Contains(outside, "eval_cancel_error") {
		t.Errorf("the check's page does not refuse the runaway draft:\n%s", outside)
	}
}

// latencies is what evaluate measured.
type latencies struct {
	ok, failed int
	p50, p99   time.Duration
}

func (l latencies) String() string {
	return fmt.Sprintf("%d answered 200, p50 %v, p99 %v, %d failed", l.ok, l.p50, l.p99, l.failed)
}

// evaluate posts the mix in turn from 4 clients for d.
func evaluate(t *testing.T, base string, mix [][]byte, d time.Duration) latencies {
	t.Helper()
	var (
		mu     sync.Mutex
		took   []time.Duration
		failed int
		wg     sync.WaitGroup
	)
	end := time.Now().Add(d)
	for w := range 4 {
		wg.Go(func() {
			for i := w; time.Now().Before(end); i += 4 {
				start := time.Now()
				resp, err := http.Post(base+"/api/v1/evaluate", "application/json", bytes.NewReader(mix[i%len(mix)]))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed++
				} else {
					took = append(took, time.Since(start))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(took) == 0 {
		t.Fatalf("no request answered 200 in %v", d)
	}
	slices.Sort(took)
	return latencies{ok: len(took), failed: failed, p50: took[len(took)/2], p99: took[len(took)*99/100]}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// formOf returns the hidden fields of the page at pageURL and the page.
func formOf(t *testing.T, c *http.Client, pageURL string) (url.Values, string) {
	t.Helper()
	resp, err := c.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(b), -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v, string(b)
}

// signIn returns a client signed in to the admin area as name.
func signIn(t *testing.T, base, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	v, _ := formOf(t, c, base+"/admin/signin")
	v.Set("name", name)
	v.Set("password", password)
	resp, err := c.PostForm(base+"/admin/signin", v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in as %s answered %d; want a redirect", name, resp.StatusCode)
	}
	return c
}

var moduleText = regexp.MustCompile(`(?s)<textarea id="text"[^>]*>(.*?)</textarea>`)

// moduleForm returns the edit form of file and the module's text.
func moduleForm(t *testing.T, c *http.Client, base, file string) (url.Values, string) {
	t.Helper()
	v, page := formOf(t, c, base+"/admin/module?file="+url.QueryEscape(file))
	m := moduleText.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the edit page of %s has no module text:\n%s", file, page)
	}
	return v, html.UnescapeString(m[1])
}
