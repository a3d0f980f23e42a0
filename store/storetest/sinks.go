package storetest

import (
	"encoding/json"
	"testing"

	"github.com/hashtrail/hashtrail"
)

func newSink(id, tenant string) *hashtrail.SinkConfig {
	return &hashtrail.SinkConfig{ID: id, Tenant: tenant, Name: "siem " + id, Type: "file",
		Filter: "category:authentication", Settings: json.RawMessage(`{"dir":"x","secret":"s3"}`),
		BatchSize: 50, MaxFailures: 3, State: hashtrail.SinkActive}
}

// cursorOf returns the stored cursor of sink in tenant, or nil.
func cursorOf(t *testing.T, ss hashtrail.SinkStore, sink, tenant string) *hashtrail.SinkCursor {
	t.Helper()
	cs, err := ss.SinkCursors(t.Context(), sink)
	if err != nil {
		t.Fatalf("SinkCursors(%s): %v", sink, err)
	}
	for _, c := range cs {
		if c.Sink != sink {
			t.Errorf("SinkCursors(%s) returned a cursor of %s", sink, c.Sink)
		}
		if c.Tenant == tenant {
			return c
		}
	}
	return nil
}

func testSinks(t *testing.T, s hashtrail.Store) {
	ss := s
	ctx := t.Context()
	appendEvents(t, s, newEvent("acme", "a1"), newEvent("acme", "a2"), newEvent("globex", "g1"))

	wantCode(t, ss.CreateSink(ctx, newSink("s-nobody", "nobody")), hashtrail.ENOTFOUND, "CreateSink for an unknown tenant")
	acme := newSink("s-acme", "acme")
	if err := ss.CreateSink(ctx, acme); err != nil {
		t.Fatalf("CreateSink: %v", err)
	}
	if acme.CreatedAt.IsZero() || acme.UpdatedAt.IsZero() {
		t.Errorf("CreateSink left CreatedAt %v, UpdatedAt %v", acme.CreatedAt, acme.UpdatedAt)
	}
	wantCode(t, ss.CreateSink(ctx, newSink("s-acme", "globex")), hashtrail.ECONFLICT, "CreateSink of an existing id")
	all := newSink("s-all", hashtrail.AllTenants)
	all.Filter = ""
	if err := ss.CreateSink(ctx, all); err != nil {
		t.Fatalf("CreateSink(installation-wide): %v", err)
	}

	got, err := ss.Sink(ctx, "s-acme")
	if err != nil {
		t.Fatalf("Sink: %v", err)
	}
	if got.ID != "s-acme" || got.Tenant != "acme" || got.Name != acme.Name || got.Type != "file" ||
		got.Filter != acme.Filter || got.BatchSize != 50 || got.MaxFailures != 3 || got.State != hashtrail.SinkActive ||
		!got.CreatedAt.Equal(acme.CreatedAt.Time) {
		t.Errorf("Sink = %+v, want %+v", got, acme)
	}
	var settings map[string]string
	if err := json.Unmarshal(got.Settings, &settings); err != nil || settings["dir"] != "x" || settings["secret"] != "s3" {
		t.Errorf("Sink settings = %s (%v)", got.Settings, err)
	}
	_, err = ss.Sink(ctx, "nope")
	wantCode(t, err, hashtrail.ENOTFOUND, "Sink of an unknown id")

	for _, tc := range []struct {
		tenant string
		want   []string
	}{{"", []string{"s-acme", "s-all"}}, {"acme", []string{"s-acme"}}, {hashtrail.AllTenants, []string{"s-all"}}, {"globex", nil}} {
		list, err := ss.Sinks(ctx, tc.tenant)
		if err != nil {
			t.Fatalf("Sinks(%q): %v", tc.tenant, err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || (len(ids) > 1 && ids[1] != tc.want[1]) {
			t.Errorf("Sinks(%q) = %v, want %v", tc.tenant, ids, tc.want)
		}
	}

	// A new sink starts at the end of each log it covers.
	if c := cursorOf(t, ss, "s-acme", "acme"); c == nil || c.Next != 2 {
		t.Errorf("cursor of a new sink = %+v, want next 2", c)
	}
	if c := cursorOf(t, ss, "s-all", "globex"); c == nil || c.Next != 1 {
		t.Errorf("cursor of a new installation-wide sink in globex = %+v, want next 1", c)
	}
	if c := cursorOf(t, ss, "s-acme", "globex"); c != nil {
		t.Errorf("a tenant sink has a cursor in another tenant: %+v", c)
	}

	// Updates.
	got.Name, got.Filter, got.Settings = "renamed", "", json.RawMessage(`{"dir":"y"}`)
	got.BatchSize, got.MaxFailures, got.State, got.PausedReason = 10, 7, hashtrail.SinkPaused, "5 failures in a row: timeout"
	before := got.UpdatedAt
	if err := ss.UpdateSink(ctx, got); err != nil {
		t.Fatalf("UpdateSink: %v", err)
	}
	if !got.UpdatedAt.After(before.Time) {
		t.Errorf("UpdateSink: UpdatedAt %v not after %v", got.UpdatedAt, before)
	}
	again, err := ss.Sink(ctx, "s-acme")
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != "renamed" || again.Filter != "" || string(again.Settings) != `{"dir":"y"}` || again.BatchSize != 10 ||
		again.MaxFailures != 7 || again.State != hashtrail.SinkPaused || again.PausedReason != got.PausedReason ||
		!again.UpdatedAt.Equal(got.UpdatedAt.Time) || again.Tenant != "acme" || again.Type != "file" {
		t.Errorf("after UpdateSink: %+v", again)
	}
	// Two updates in the same microsecond still move UpdatedAt on.
	prev := again.UpdatedAt
	if err := ss.UpdateSink(ctx, again); err != nil {
		t.Fatal(err)
	}
	if !again.UpdatedAt.After(prev.Time) {
		t.Errorf("a second UpdateSink: UpdatedAt %v not after %v", again.UpdatedAt, prev)
	}
	wantCode(t, ss.UpdateSink(ctx, newSink("nope", "acme")), hashtrail.ENOTFOUND, "UpdateSink of an unknown id")

	// Cursors: compare-and-set on Next.
	c := &hashtrail.SinkCursor{Sink: "s-acme", Tenant: "acme", Next: 5, LastDelivery: at(9), Failures: 0}
	if err := ss.SetSinkCursor(ctx, c, 2); err != nil {
		t.Fatalf("SetSinkCursor: %v", err)
	}
	wantCode(t, ss.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: "s-acme", Tenant: "acme", Next: 9}, 2), hashtrail.ECONFLICT, "SetSinkCursor from a stale position")
	if c := cursorOf(t, ss, "s-acme", "acme"); c == nil || c.Next != 5 || !c.LastDelivery.Equal(at(9).Time) {
		t.Errorf("cursor after a refused SetSinkCursor = %+v", c)
	}
	fail := &hashtrail.SinkCursor{Sink: "s-acme", Tenant: "acme", Next: 5, LastDelivery: at(9), LastError: "timeout", Failures: 2}
	if err := ss.SetSinkCursor(ctx, fail, 5); err != nil {
		t.Fatal(err)
	}
	if c := cursorOf(t, ss, "s-acme", "acme"); c == nil || c.LastError != "timeout" || c.Failures != 2 {
		t.Errorf("cursor = %+v, want the failures kept", c)
	}
	if err := ss.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: "s-acme", Tenant: "acme", Next: 0}, hashtrail.AnyCursor); err != nil {
		t.Fatalf("SetSinkCursor(any): %v", err)
	}
	if c := cursorOf(t, ss, "s-acme", "acme"); c == nil || c.Next != 0 || c.Failures != 0 || !c.LastDelivery.IsZero() {
		t.Errorf("cursor after a reset = %+v", c)
	}
	// A missing cursor counts as 0.
	if err := ss.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: "s-all", Tenant: "later", Next: 3}, 0); err != nil {
		t.Errorf("SetSinkCursor over a missing cursor from 0: %v", err)
	}
	wantCode(t, ss.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: "s-all", Tenant: "other", Next: 3}, 1), hashtrail.ECONFLICT, "SetSinkCursor over a missing cursor from 1")
	wantCode(t, ss.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: "nope", Tenant: "acme", Next: 3}, hashtrail.AnyCursor), hashtrail.ENOTFOUND, "SetSinkCursor of an unknown sink")

	// Deleting a sink deletes its cursors.
	if err := ss.DeleteSink(ctx, "s-acme"); err != nil {
		t.Fatalf("DeleteSink: %v", err)
	}
	_, err = ss.Sink(ctx, "s-acme")
	wantCode(t, err, hashtrail.ENOTFOUND, "Sink after DeleteSink")
	if cs, err := ss.SinkCursors(ctx, "s-acme"); err != nil || len(cs) != 0 {
		t.Errorf("SinkCursors after DeleteSink = %v, %v", cs, err)
	}
	wantCode(t, ss.DeleteSink(ctx, "s-acme"), hashtrail.ENOTFOUND, "DeleteSink twice")
	// The id can be used again, starting afresh.
	if err := ss.CreateSink(ctx, newSink("s-acme", "acme")); err != nil {
		t.Fatalf("CreateSink after DeleteSink: %v", err)
	}
	if c := cursorOf(t, ss, "s-acme", "acme"); c == nil || c.Next != 2 {
		t.Errorf("cursor of a sink made again = %+v", c)
	}
}

func testDeleteTenantSinks(t *testing.T, s hashtrail.Store) {
	ss := s
	ctx := t.Context()
	mustTenant(t, s, "empty")
	mustTenant(t, s, "kept")
	for _, c := range []*hashtrail.SinkConfig{newSink("s-empty", "empty"), newSink("s-kept", "kept"), newSink("s-all", hashtrail.AllTenants)} {
		if err := ss.CreateSink(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteTenant(ctx, "empty"); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	_, err := ss.Sink(ctx, "s-empty")
	wantCode(t, err, hashtrail.ENOTFOUND, "sink of a deleted tenant")
	if cs, _ := ss.SinkCursors(ctx, "s-empty"); len(cs) != 0 {
		t.Errorf("cursors of a deleted tenant's sink: %v", cs)
	}
	if c := cursorOf(t, ss, "s-all", "empty"); c != nil {
		t.Errorf("an installation-wide sink keeps a cursor in a deleted tenant: %+v", c)
	}
	if c := cursorOf(t, ss, "s-all", "kept"); c == nil {
		t.Errorf("an installation-wide sink lost its cursor in another tenant")
	}
	if _, err := ss.Sink(ctx, "s-kept"); err != nil {
		t.Errorf("another tenant's sink: %v", err)
	}
}
