package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

func TestEraseSubject(t *testing.T) {
	l, st := MustOpenLog(t, ledger.Config{CheckpointInterval: 10 * time.Millisecond})
	ctx := t.Context()
	for _, id := range []string{"acme", "beta"} {
		if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ingest(t, ctx, l, "acme",
		`{"id":"a1","action":"user.login","actor":{"type":"user","id":"42","name":"Alice Quokka","email":"alice@example.com"},"context":{"ip":"203.0.113.42"}}`,
		`{"id":"a2","action":"user.view","actor":{"type":"user","id":"7","name":"Bob","email":"bob@example.com"},"targets":[{"type":"user","id":"42","name":"Alice Quokka"}],"context":{"ip":"192.0.2.7"}}`,
		`{"id":"a3","action":"user.update","actor":{"type":"user","id":"7","email":"bob@example.com","impersonator":{"type":"user","id":"42","name":"Alice Quokka"}}}`,
		`{"id":"a4","action":"project.create","actor":{"type":"user","id":"8","email":"carol@example.com"},"targets":[{"type":"project","id":"1"}]}`,
		`{"id":"a5","action":"user.password_reset","actor":{"type":"user","email":"Alice@Example.com"}}`,
	); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, ctx, l, "beta",
		`{"id":"b1","action":"user.login","actor":{"type":"user","id":"42","email":"alice@example.com"}}`,
		`{"id":"b2","action":"user.view","actor":{"type":"user","id":"9"},"targets":[{"type":"user","id":"42","name":"Alice Quokka"}]}`); err != nil {
		t.Fatal(err)
	}
	admin := as(ctx, "acme", hashtrail.RoleAdmin)

	// Authorization.
	if _, err := l.EraseSubject(as(ctx, "acme", hashtrail.RoleRead), "acme", "user:42"); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("EraseSubject by a read key: %v, want EFORBIDDEN", err)
	}
	if _, err := l.EraseSubject(as(ctx, "beta", hashtrail.RoleAdmin), "acme", "user:42"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("EraseSubject by another tenant's key: %v, want ENOTFOUND", err)
	}
	if _, err := l.EraseSubjectEverywhere(admin, "user:42"); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("EraseSubjectEverywhere by a tenant key: %v, want EFORBIDDEN", err)
	}
	if _, err := l.EraseSubject(admin, "acme", "nobody"); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("EraseSubject of a malformed subject: %v, want EINVALID", err)
	}

	// Access request.
	var got []string
	if err := l.SubjectEvents(admin, "acme", "user:42", func(e *hashtrail.Event) error {
		got = append(got, e.ID)
		return nil
	}); err != nil || strings.Join(got, ",") != "a1,a2,a3,a5" {
		t.Errorf("SubjectEvents(user:42) = %v, %v; want a1,a2,a3,a5 (a5: the actor known by the user's e-mail)", got, err)
	}

	// A legal hold wins.
	hold, err := l.AddHold(admin, "acme", &hashtrail.LegalHold{Filter: "target:user:42", Reason: "case 7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.EraseSubject(admin, "acme", "user:42"); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT || !strings.Contains(err.Error(), hold.ID) {
		t.Errorf("EraseSubject under a hold: %v, want ECONFLICT naming %s", err, hold.ID)
	}
	if n, _ := st.Events(ctx, &hashtrail.Query{Tenant: "acme", Actions: []string{"system.subject_erased"}}); len(n) != 0 {
		t.Errorf("a refused erasure was announced")
	}
	if err := l.RemoveHold(admin, "acme", hold.ID); err != nil {
		t.Fatal(err)
	}

	n, err := l.EraseSubject(admin, "acme", "user:42")
	if err != nil || n != 4 {
		t.Fatalf("EraseSubject(user:42) = %d, %v; want 4", n, err)
	}
	anns, err := st.Events(ctx, &hashtrail.Query{Tenant: "acme", Actions: []string{"system.subject_erased"}})
	if err != nil || len(anns) != 1 {
		t.Fatalf("announcements: %d, %v", len(anns), err)
	}
	m, err := client.ParseSubjectErased(anns[0])
	if err != nil || len(m.Roles) != 4 || anns[0].Actor.ID != "key_test_admin" {
		t.Errorf("announcement: %+v, %v, actor %+v", m, err, anns[0].Actor)
	}
	if b := string(anns[0].Metadata) + anns[0].Description; strings.Contains(b, "42") || strings.Contains(b, "alice") {
		t.Errorf("the announcement names the subject: %s", b)
	}
	a2, err := l.Event(admin, "acme", "a2")
	if err != nil {
		t.Fatal(err)
	}
	if a2.Targets[0].Name != "" || !a2.PII["/targets/0"].Erased || a2.Actor.Email != "bob@example.com" {
		t.Errorf("a2 after the erasure: targets %+v actor %+v", a2.Targets, a2.Actor)
	}
	b1, err := st.Event(ctx, "beta", "b1")
	if err != nil || b1.Actor.Email != "alice@example.com" {
		t.Errorf("another tenant's event changed: %+v, %v", b1, err)
	}
	waitCheckpoint(t, st, "acme", mustSize(t, st, "acme"))
	if rep := verifyStore(t, st, "acme"); !rep.OK() || rep.ErasedRoles != 4 {
		t.Errorf("verify after the erasure: %s (erased roles %d), want OK with 4", rep.Summary(), rep.ErasedRoles)
	}

	// Again: nothing new, no announcement.
	if n, err := l.EraseSubject(admin, "acme", "user:42"); err != nil || n != 0 {
		t.Errorf("EraseSubject again = %d, %v; want 0", n, err)
	}
	if anns, _ := st.Events(ctx, &hashtrail.Query{Tenant: "acme", Actions: []string{"system.subject_erased"}}); len(anns) != 1 {
		t.Errorf("a second erasure announced again: %d announcements", len(anns))
	}

	// Installation-wide, by e-mail.
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	per, err := l.EraseSubjectEverywhere(inst, "Alice@Example.com")
	if err != nil || len(per) != 1 || per["beta"] != 2 {
		t.Errorf("EraseSubjectEverywhere(alice@) = %v, %v; want beta: 2 (b2: user:42, whose address it is, as a target)", per, err)
	}
	waitCheckpoint(t, st, "beta", mustSize(t, st, "beta"))
	if rep := verifyStore(t, st, "beta"); !rep.OK() {
		t.Errorf("verify beta: %s", rep.Summary())
	}

	// Personal values deleted without an announcement are tampering.
	roles, err := st.SubjectRoles(ctx, "acme", "user:8")
	if err != nil || len(roles) != 1 {
		t.Fatalf("SubjectRoles(user:8) = %v, %v", roles, err)
	}
	if _, err := st.ErasePersonal(ctx, "acme", roles); err != nil {
		t.Fatal(err)
	}
	if rep := verifyStore(t, st, "acme"); rep.OK() || !strings.Contains(rep.Summary(), "erase") {
		t.Errorf("verify after an unannounced erasure: %s, want a failure", rep.Summary())
	}
}

// failingEraser is a store whose ErasePersonal fails while fail is set: a
// crash between an erasure's announcement and its deletion.
type failingEraser struct {
	*sqlite.Store
	fail bool
}

func (f *failingEraser) ErasePersonal(ctx context.Context, tenant string, roles []hashtrail.SubjectRole) (int64, error) {
	if f.fail {
		return 0, errors.New("the process died")
	}
	return f.Store.ErasePersonal(ctx, tenant, roles)
}

func TestEraseResumes(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	if _, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{ServerName: testServerName, Signer: testKey("a")}); err != nil {
		t.Fatal(err)
	}
	fe := &failingEraser{Store: st, fail: true}
	l := ledger.New(fe, ledger.Config{Signer: testKey("a"), ServerName: testServerName, CheckpointInterval: 10 * time.Millisecond})
	t.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	ctx := t.Context()
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, ctx, l, "acme",
		`{"id":"a1","action":"user.login","actor":{"type":"user","id":"42","email":"alice@example.com"}}`,
		`{"id":"a2","action":"user.login","actor":{"type":"user","id":"42","email":"alice@example.com"}}`); err != nil {
		t.Fatal(err)
	}
	admin := as(ctx, "acme", hashtrail.RoleAdmin)
	if _, err := l.EraseSubject(admin, "acme", "user:42"); err == nil {
		t.Fatal("EraseSubject with a failing store succeeded")
	}
	fe.fail = false
	waitCheckpoint(t, st, "acme", mustSize(t, st, "acme"))
	if rep := verifyStore(t, st, "acme"); !rep.OK() || rep.ErasedRoles != 0 {
		t.Errorf("verify after an announcement without deletion: %s", rep.Summary())
	}
	// The background completion erases what was announced.
	n, err := l.CompleteErasures(ctx, "acme")
	if err != nil || n != 2 {
		t.Fatalf("CompleteErasures = %d, %v; want 2", n, err)
	}
	if n, err := l.CompleteErasures(ctx, "acme"); err != nil || n != 0 {
		t.Errorf("CompleteErasures again = %d, %v; want 0", n, err)
	}
	if n, err := l.EraseSubject(admin, "acme", "user:42"); err != nil || n != 0 {
		t.Errorf("EraseSubject after completion = %d, %v; want 0", n, err)
	}
	e, err := st.Event(ctx, "acme", "a1")
	if err != nil || !e.PII["/actor"].Erased || e.Actor.Email != "" {
		t.Errorf("a1 after completion: %+v, %v", e, err)
	}
	waitCheckpoint(t, st, "acme", mustSize(t, st, "acme"))
	if rep := verifyStore(t, st, "acme"); !rep.OK() || rep.ErasedRoles != 2 {
		t.Errorf("verify after completion: %s (erased %d)", rep.Summary(), rep.ErasedRoles)
	}
}
