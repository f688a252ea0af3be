package store

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkDecisionWriter writes decisions through the writer in batches
// of 2,048 into a new SQLite database: the cost a kept decision adds,
// off the request path.
func BenchmarkDecisionWriter(b *testing.B) {
	db, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := NewDecisionWriter(db, WriterConfig{Batch: 2048, Every: time.Hour, Log: slog.New(slog.DiscardHandler)})
	at := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Add(decisionN(i, at))
		i++
		if i%2048 == 0 {
			w.Flush()
		}
	}
	w.Flush()
	w.Close(context.Background())
	if w.Stored() != int64(i) {
		b.Fatalf("stored %d of %d", w.Stored(), i)
	}
}
