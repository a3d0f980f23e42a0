package postgres

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// TestUnreachable checks that a store whose database cannot be reached
// answers EUNAVAILABLE (wrapping the cause) to Ping, Append and reads.
func TestUnreachable(t *testing.T) {
	pc, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{pool: pool, schema: "x", log: slog.New(slog.DiscardHandler), now: time.Now, months: map[time.Time]bool{}, expect: map[string]int64{}, metrics: ingest.NewMetrics()}
	defer s.Close()
	if err := s.Ping(t.Context()); hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("Ping = %v; want EUNAVAILABLE", err)
	}
	e := &hashtrail.Event{ID: "e1", Tenant: "acme", ReceivedAt: hashtrail.NewTime(time.Now())}
	err = s.Append(t.Context(), []*hashtrail.AppendGroup{{Entries: []*hashtrail.Entry{{Event: e}}}})
	if hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("Append = %v; want EUNAVAILABLE", err)
	}
	var he *hashtrail.Error
	if !errors.As(err, &he) || errors.Unwrap(err) == nil {
		t.Errorf("Append = %v; want a wrapped *hashtrail.Error", err)
	}
	if _, err := s.Tenant(t.Context(), "acme"); hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("Tenant = %v; want EUNAVAILABLE", err)
	}
	if _, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "acme"}); hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("Events = %v; want EUNAVAILABLE", err)
	}
}

func TestCheckVersion(t *testing.T) {
	for num, ok := range map[int]bool{90624: false, 130011: false, 140000: true, 150020: true, 170000: true} {
		err := checkVersion(num)
		if (err == nil) != ok {
			t.Errorf("checkVersion(%d) = %v; want ok %v", num, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "PostgreSQL 14 or newer") {
			t.Errorf("checkVersion(%d) = %v; want the minimum named", num, err)
		}
	}
}
