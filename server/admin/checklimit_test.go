package admin

import "testing"

func TestCheckLimit(t *testing.T) {
	l := newCheckLimit()
	doneAna, err := l.start("ana")
	if err != nil {
		t.Fatalf("start(ana) = %v; want a place", err)
	}
	if _, err := l.start("ana"); err != errCheckRunning {
		t.Errorf("start(ana) while ana's check runs = %v; want %v", err, errCheckRunning)
	}
	doneLuis, err := l.start("luis")
	if err != nil {
		t.Fatalf("start(luis) = %v; want the second place", err)
	}
	if _, err := l.start("eva"); err != errChecksBusy {
		t.Errorf("start(eva) with %d checks running = %v; want %v", MaxChecks, err, errChecksBusy)
	}
	doneAna()
	doneEva, err := l.start("eva")
	if err != nil {
		t.Errorf("start(eva) once ana's check ended = %v; want a place", err)
	}
	doneLuis()
	if doneEva != nil {
		doneEva()
	}
	if l.running != 0 || len(l.byAdmin) != 0 {
		t.Errorf("after every check ended: %d running, %v; want none", l.running, l.byAdmin)
	}
}
