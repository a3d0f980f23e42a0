package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// Three ways to record, each where it fits:
//
//   - a.record (Client.Record): sign-in and sign-out, which change nothing
//     the audit trail must agree with; queued, never slows the request;
//   - a.outbox.Record: every change to the app's data, in the change's own
//     transaction, so the event exists if and only if the change committed;
//   - a.audit.RecordSync: API key creation, which must be durable in
//     Hashtrail before the key exists.

// record queues ev for Hashtrail. It never fails the request: what cannot
// be queued is logged.
func (a *app) record(ctx context.Context, ev *hashtrail.Event) {
	if err := a.audit.Record(ctx, ev); err != nil {
		a.cfg.Logger.WarnContext(ctx, "audit event not queued", "action", ev.Action, "err", err)
	}
}

func (a *app) signup(w http.ResponseWriter, r *http.Request, _ *user) error {
	var in struct{ Email, Name, Password string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !strings.Contains(in.Email, "@") || len(in.Password) < 8 {
		return &httpError{http.StatusBadRequest, "an email and a password of 8 or more characters, please"}
	}
	ph, err := bcrypt.GenerateFromPassword([]byte(in.Password), a.cfg.BcryptCost)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := &user{Email: in.Email, Name: in.Name, Role: "member"}
	err = a.inTx(ctx, func(tx *sql.Tx) error {
		var users, taken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE email = ?) FROM users`, in.Email).
			Scan(&users, &taken); err != nil {
			return err
		}
		if taken > 0 {
			return &httpError{http.StatusConflict, "that email is taken"}
		}
		if users == 0 {
			u.Role = "admin" // the first user runs the place
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (email, name, password_hash, role) VALUES (?, ?, ?, ?)`,
			u.Email, u.Name, string(ph), u.Role)
		if err != nil {
			return err
		}
		u.ID, _ = res.LastInsertId()
		// Nobody is signed in yet: the new user is the actor of their own
		// sign-up, for this event and any other of this request.
		client.SetActor(ctx, u.actor())
		return a.outbox.Record(ctx, tx, client.UserCreated(u.id()))
	})
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, map[string]any{"id": u.ID, "role": u.Role})
}

func (a *app) login(w http.ResponseWriter, r *http.Request, _ *user) error {
	var in struct{ Email, Password string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	u := &user{}
	var ph string
	err := a.db.QueryRowContext(ctx, `SELECT id, email, name, role, password_hash FROM users WHERE email = ?`, in.Email).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &ph)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// No such account: the actor is the address tried, so that erasing
		// that address finds this event too.
		a.record(ctx, client.LoginFailed(&hashtrail.Actor{Type: hashtrail.ActorUser, Email: in.Email},
			client.Password(), client.FailureUnknownUser))
		return &httpError{http.StatusUnauthorized, "wrong email or password"}
	case err != nil:
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(ph), []byte(in.Password)) != nil {
		a.record(ctx, client.LoginFailed(u.actor(), client.Password(), client.FailureInvalidCredentials))
		return &httpError{http.StatusUnauthorized, "wrong email or password"}
	}
	token := newSecret("")
	if _, err := a.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id) VALUES (?, ?)`, hash(token), u.ID); err != nil {
		return err
	}
	a.record(ctx, client.LoginSucceeded(u.actor(), client.Password()))
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return reply(w, http.StatusOK, map[string]any{"id": u.ID})
}

func (a *app) logout(w http.ResponseWriter, r *http.Request, u *user) error {
	c, _ := r.Cookie(sessionCookie)
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE token_hash = ?`, hash(c.Value)); err != nil {
		return err
	}
	a.record(r.Context(), client.LoggedOut(u.actor()))
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
	return noContent(w, nil)
}

func (a *app) changePassword(w http.ResponseWriter, r *http.Request, u *user) error {
	var in struct{ Current, New string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		var ph string
		if err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&ph); err != nil {
			return err
		}
		if bcrypt.CompareHashAndPassword([]byte(ph), []byte(in.Current)) != nil || len(in.New) < 8 {
			return &httpError{http.StatusForbidden, "wrong password, or a new one under 8 characters"}
		}
		nh, err := bcrypt.GenerateFromPassword([]byte(in.New), a.cfg.BcryptCost)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, string(nh), u.ID); err != nil {
			return err
		}
		return a.outbox.Record(ctx, tx, client.PasswordChanged(u.id())) // a redacted change of "password"
	})
	return noContent(w, err)
}

// project is a row of projects, as client.Diff compares it: changes are
// named by the json names.
type project struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	Protected        bool   `json:"protected"` // a protected project cannot be deleted
	Registry         string `json:"registry"`
	RegistryPassword string `json:"registry_password"` // Diff never records it: its name says password
}

func (p *project) target() hashtrail.Target {
	return hashtrail.Target{Type: "project", ID: p.idString(), Name: p.Name}
}

func (p *project) idString() string { return strconv.FormatInt(p.ID, 10) }

// loadProject reads project id of owner, in tx.
func loadProject(ctx context.Context, tx *sql.Tx, id string, owner *user) (*project, error) {
	p := &project{}
	err := tx.QueryRowContext(ctx, `SELECT id, name, description, protected, registry, registry_password
		FROM projects WHERE id = ? AND owner_id = ?`, id, owner.ID).
		Scan(&p.ID, &p.Name, &p.Description, &p.Protected, &p.Registry, &p.RegistryPassword)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &httpError{http.StatusNotFound, "no such project"}
	}
	return p, err
}

func (a *app) createProject(w http.ResponseWriter, r *http.Request, u *user) error {
	var in struct{ Name, Description string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	p := &project{Name: in.Name, Description: in.Description}
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO projects (owner_id, name, description) VALUES (?, ?, ?)`,
			u.ID, p.Name, p.Description)
		if err != nil {
			return err
		}
		p.ID, _ = res.LastInsertId()
		ev := client.ProjectCreated(p.idString())
		ev.Targets = []hashtrail.Target{p.target()} // with its name
		return a.outbox.Record(ctx, tx, ev)
	})
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, map[string]any{"id": p.ID})
}

func (a *app) updateProject(w http.ResponseWriter, r *http.Request, u *user) error {
	var in struct {
		Name             *string `json:"name"`
		Description      *string `json:"description"`
		Protected        *bool   `json:"protected"`
		Registry         *string `json:"registry"`
		RegistryPassword *string `json:"registry_password"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadProject(ctx, tx, r.PathValue("id"), u)
		if err != nil {
			return err
		}
		p := *old
		set(&p.Name, in.Name)
		set(&p.Description, in.Description)
		set(&p.Protected, in.Protected)
		set(&p.Registry, in.Registry)
		set(&p.RegistryPassword, in.RegistryPassword)
		changes := client.Diff(old, &p) // registry_password: {"redacted": true}, never its values
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE projects SET name = ?, description = ?, protected = ?, registry = ?,
			registry_password = ? WHERE id = ?`, p.Name, p.Description, p.Protected, p.Registry, p.RegistryPassword, p.ID); err != nil {
			return err
		}
		ev := client.ProjectUpdated(p.idString(), changes...)
		ev.Targets = []hashtrail.Target{p.target()}
		return a.outbox.Record(ctx, tx, ev)
	})
	return noContent(w, err)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (a *app) deleteProject(w http.ResponseWriter, r *http.Request, u *user) error {
	ctx := r.Context()
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		p, err := loadProject(ctx, tx, r.PathValue("id"), u)
		if err != nil {
			return err
		}
		// The project's API keys go first (they refer to it), each
		// revocation recorded...
		rows, err := tx.QueryContext(ctx, `DELETE FROM api_keys WHERE project_id = ? RETURNING id`, p.ID)
		if err != nil {
			return err
		}
		var keys []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, id := range keys {
			if err := a.outbox.Record(ctx, tx, client.APIKeyRevoked(id)); err != nil {
				return err
			}
		}
		// ...then the project, unless it is protected. If it is, the whole
		// transaction rolls back: the keys come back, and their revocation
		// events never existed.
		res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ? AND NOT protected`, p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &httpError{http.StatusConflict, "the project is protected"}
		}
		ev := client.ProjectDeleted(p.idString())
		ev.Targets = []hashtrail.Target{p.target()}
		return a.outbox.Record(ctx, tx, ev)
	})
	return noContent(w, err)
}

// createKey makes an API key for a project. A key is security-critical: it
// must never exist without its record. So the event goes first, with
// RecordSync, which returns once it is durable in Hashtrail; only then is
// the key stored and shown, with the event's seq as the caller's receipt.
// (Should storing it fail now, the log holds a key that never worked: the
// safe side of the error.)
func (a *app) createKey(w http.ResponseWriter, r *http.Request, u *user) error {
	var in struct{ Name string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	var p *project
	err := a.inTx(ctx, func(tx *sql.Tx) (err error) {
		p, err = loadProject(ctx, tx, r.PathValue("id"), u)
		return err
	})
	if err != nil {
		return err
	}
	keyID, secret := "key_"+newSecret("")[:12], newSecret("gak_")
	ev := client.APIKeyCreated(keyID, in.Name)
	ev.Targets = append(ev.Targets, p.target())
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second) // RecordSync retries until ctx ends
	defer cancel()
	receipt, err := a.audit.RecordSync(sctx, ev)
	if err != nil {
		a.cfg.Logger.ErrorContext(ctx, "api key not recorded", "err", err)
		return &httpError{http.StatusServiceUnavailable, "the audit log is unavailable: no key was created"}
	}
	if _, err := a.db.ExecContext(ctx, `INSERT INTO api_keys (id, project_id, name, key_hash) VALUES (?, ?, ?, ?)`,
		keyID, p.ID, in.Name, hash(secret)); err != nil {
		return err
	}
	return reply(w, http.StatusCreated, map[string]any{"id": keyID, "key": secret, "audit_seq": receipt.Seq})
}

var roles = map[string]bool{"admin": true, "member": true}

func (a *app) assignRole(w http.ResponseWriter, r *http.Request, _ *user) error {
	var in struct{ Role string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !roles[in.Role] {
		return &httpError{http.StatusBadRequest, "role is admin or member"}
	}
	ctx, id := r.Context(), r.PathValue("id")
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, id).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return &httpError{http.StatusNotFound, "no such user"}
		}
		if err != nil || old == in.Role {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE id = ?`, in.Role, id); err != nil {
			return err
		}
		// One role per user: the old one is taken, the new one given.
		if err := a.outbox.Record(ctx, tx, client.RoleUnassigned(old, client.UserRef(id))); err != nil {
			return err
		}
		return a.outbox.Record(ctx, tx, client.RoleAssigned(in.Role, client.UserRef(id)))
	})
	return noContent(w, err)
}

func (a *app) grantPermission(w http.ResponseWriter, r *http.Request, _ *user) error {
	var in struct{ Permission string }
	if err := decode(w, r, &in); err != nil {
		return err
	}
	role := r.PathValue("role")
	if !roles[role] || in.Permission == "" {
		return &httpError{http.StatusBadRequest, "no such role, or no permission"}
	}
	ctx := r.Context()
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO role_permissions (role, permission) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, role, in.Permission)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // granted already: nothing changed, nothing to record
		}
		return a.outbox.Record(ctx, tx, client.PermissionGranted(role, in.Permission))
	})
	return noContent(w, err)
}
