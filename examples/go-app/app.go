package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	_ "modernc.org/sqlite"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// config is what the app needs; main reads it from the environment.
type config struct {
	DB           string // the app's SQLite file
	HashtrailURL string // the Hashtrail server
	HashtrailKey string // an ingest key of Tenant
	Tenant       string // the tenant this app records into
	// ViewerKey is a key of Tenant that may mint viewer tokens (role
	// admin), for the pages that embed the audit log viewer (viewer.go).
	ViewerKey          string
	HashtrailPublicURL string         // Hashtrail as browsers reach it (default HashtrailURL)
	Origin             string         // the app's origin as browsers see it (default from each request)
	TrustedProxies     []netip.Prefix // reverse proxies whose X-Forwarded-For is believed
	BcryptCost         int            // password hashing cost (default bcrypt.DefaultCost)
	RelayPoll          time.Duration  // how often the outbox relay looks for rows (default 1s)
	Logger             *slog.Logger
}

// app is a small project-management service: users sign up and in, own
// projects with API keys, and admins manage roles. Every change it makes is
// audited through Hashtrail.
type app struct {
	cfg    config
	db     *sql.DB
	audit  *client.Client // sends events to Hashtrail
	outbox *client.Outbox // events written in the app's own transactions
	mux    http.Handler
	stop   context.CancelFunc
	relay  chan struct{} // closed when the relay goroutine ends
}

const schema = `
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
CREATE TABLE IF NOT EXISTS projects (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),
	name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', protected INTEGER NOT NULL DEFAULT 0,
	registry TEXT NOT NULL DEFAULT '', registry_password TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id),
	name TEXT NOT NULL, key_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS role_permissions (role TEXT NOT NULL, permission TEXT NOT NULL,
	PRIMARY KEY (role, permission));`

// open opens the app's database, its Hashtrail client and outbox, and
// starts the outbox relay; Close stops them.
func open(ctx context.Context, cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// BEGIN IMMEDIATE: a transaction that reads then writes waits for
	// SQLite's write lock (busy_timeout) rather than failing.
	db, err := sql.Open("sqlite", "file:"+cfg.DB+
		"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, err
	}
	audit, err := client.New(cfg.HashtrailURL, cfg.HashtrailKey,
		client.WithTenant(cfg.Tenant),
		client.WithService(hashtrail.Service{Name: "go-app", Version: "1.0.0"}),
		client.WithLogger(cfg.Logger), // rejected or dropped events are logged (ids, never contents)
	)
	if err != nil {
		db.Close()
		return nil, err
	}
	outbox, err := client.NewOutbox(db, audit, client.OutboxConfig{Dialect: client.SQLite, PollInterval: cfg.RelayPoll})
	if err == nil {
		err = outbox.CreateTable(ctx)
	}
	if err != nil {
		audit.Close(ctx)
		db.Close()
		return nil, err
	}
	a := &app{cfg: cfg, db: db, audit: audit, outbox: outbox, relay: make(chan struct{})}
	a.mux = a.routes()
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	go func() {
		defer close(a.relay)
		outbox.Run(rctx) // sends committed outbox rows until Close
	}()
	return a, nil
}

// Close stops the relay, relays what is left, and sends what the client
// still holds, until ctx ends.
func (a *app) Close(ctx context.Context) error {
	a.stop()
	<-a.relay
	_, err := a.outbox.Relay(ctx)
	err = errors.Join(err, a.audit.Close(ctx))
	return errors.Join(err, a.db.Close())
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// routes is every route of the app, behind Hashtrail's middleware (client
// IP, user agent, request id and the actor for every event) and the app's
// own session middleware.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /signup", a.public(a.signup))
	mux.Handle("POST /login", a.public(a.login))
	mux.Handle("POST /logout", a.signedIn(a.logout))
	mux.Handle("POST /me/password", a.signedIn(a.changePassword))
	mux.Handle("POST /projects", a.signedIn(a.createProject))
	mux.Handle("PATCH /projects/{id}", a.signedIn(a.updateProject))
	mux.Handle("DELETE /projects/{id}", a.signedIn(a.deleteProject))
	mux.Handle("POST /projects/{id}/keys", a.signedIn(a.createKey))
	mux.Handle("PUT /users/{id}/role", a.admin(a.assignRole))
	mux.Handle("POST /roles/{role}/permissions", a.admin(a.grantPermission))
	mux.Handle("GET /projects/{id}/history", a.signedIn(a.projectHistory))
	mux.Handle("GET /me/security", a.signedIn(a.mySecurity))

	audit := client.Middleware(client.MiddlewareConfig{
		TrustedProxies: a.cfg.TrustedProxies,
		Source:         "web",
		// Who acts, for every event recorded without an actor: the
		// signed-in user that the session middleware below put in the
		// request's context. Record calls it with the handler's context.
		Actor: func(ctx context.Context) *hashtrail.Actor {
			if u := userFrom(ctx); u != nil {
				return u.actor()
			}
			return nil
		},
	})
	return audit(a.session(mux))
}

// user is a signed-in user.
type user struct {
	ID    int64
	Email string
	Name  string
	Role  string
}

func (u *user) id() string { return strconv.FormatInt(u.ID, 10) }

// actor is how events name the user.
func (u *user) actor() *hashtrail.Actor {
	return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: u.id(), Name: u.Name, Email: u.Email,
		Roles: []string{u.Role}}
}

type userKey struct{}

func userFrom(ctx context.Context) *user {
	u, _ := ctx.Value(userKey{}).(*user)
	return u
}

const sessionCookie = "session"

// session puts the user of the request's session cookie, if any, in its
// context.
func (a *app) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			u := &user{}
			err := a.db.QueryRowContext(r.Context(), `SELECT u.id, u.email, u.name, u.role FROM sessions s
				JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, hash(c.Value)).Scan(&u.ID, &u.Email, &u.Name, &u.Role)
			if err == nil {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// handler is a route: it answers, or returns the error to answer (fail).
// u is the signed-in user, nil on public routes.
type handler func(w http.ResponseWriter, r *http.Request, u *user) error

func (a *app) public(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r, userFrom(r.Context())); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *app) signedIn(h handler) http.Handler {
	return a.public(func(w http.ResponseWriter, r *http.Request, u *user) error {
		if u == nil {
			return &httpError{http.StatusUnauthorized, "sign in first"}
		}
		return h(w, r, u)
	})
}

func (a *app) admin(h handler) http.Handler {
	return a.signedIn(func(w http.ResponseWriter, r *http.Request, u *user) error {
		if u.Role != "admin" {
			return &httpError{http.StatusForbidden, "admins only"}
		}
		return h(w, r, u)
	})
}

// inTx runs fn in one transaction of the app's database, committed only if
// fn succeeds. The events fn writes into the outbox are part of it: they
// reach Hashtrail if and only if the transaction commits.
func (a *app) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// fail answers err: its own status for an *httpError, else 500 (logged).
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.status)
		return
	}
	a.cfg.Logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		return &httpError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	return nil
}

func reply(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// noContent answers 204 unless err.
func noContent(w http.ResponseWriter, err error) error {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
	}
	return err
}

// newSecret returns a random token with prefix.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hash is how the app stores session tokens and API keys.
func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
