package client_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"os"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// A client for one tenant's key: Record queues and returns at once; Close
// sends what is left.
func ExampleNew() {
	c, err := client.New("https://audit.example.com", os.Getenv("HASHTRAIL_API_KEY"),
		client.WithTenant("acme"),
		client.WithService(hashtrail.Service{Name: "billing", Version: "1.4.2"}),
		client.WithSpool("/var/lib/billing/audit-spool"),
		client.WithErrorHandler(func(err error) { log.Print(err) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx) // what is not sent by then stays in the spool
	}()

	ctx := context.Background()
	_ = c.Record(ctx, &hashtrail.Event{
		Action:  "project.delete",
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "ada@example.com"},
		Targets: []hashtrail.Target{{Type: "project", ID: "7", Name: "Apollo"}},
	})

	// An event the app must not go on without: wait until it is durable.
	r, err := c.RecordSync(ctx, &hashtrail.Event{Action: "role.permission_grant", Severity: hashtrail.SeverityHigh})
	if err == nil {
		fmt.Println("recorded at seq", r.Seq, "leaf", r.LeafHash)
	}
}

// One action recorded in every organisation of the user, with an
// installation-wide key.
func ExampleClient_RecordFanOut() {
	c, err := client.New("https://audit.example.com", os.Getenv("HASHTRAIL_INSTALLATION_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	_ = c.RecordFanOut(context.Background(), &hashtrail.Event{
		Action: "user.password_change",
		Actor:  &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42"},
	}, "org-1", "org-7", "org-9")
}

func ExampleDiff() {
	type Settings struct {
		Theme    string `json:"theme"`
		Timezone string `json:"timezone"`
	}
	type Account struct {
		Email     string   `json:"email"`
		Password  string   `json:"password"`
		Recovery  string   `json:"recovery" audit:"secret"`
		LastSeen  string   `json:"last_seen" audit:"-"`
		Settings  Settings `json:"settings"`
		APIKey    string   `json:"apiKey"`
		KeyboardL string   `json:"keyboard_layout"`
	}
	old := Account{Email: "ada@example.com", Password: "hunter2", Recovery: "a", LastSeen: "mon",
		Settings: Settings{Theme: "dark", Timezone: "UTC"}, APIKey: "k1", KeyboardL: "qwerty"}
	new := Account{Email: "ada@example.org", Password: "correct horse", Recovery: "b", LastSeen: "tue",
		Settings: Settings{Theme: "light", Timezone: "UTC"}, APIKey: "k2", KeyboardL: "azerty"}
	for _, ch := range client.Diff(old, new) {
		b, _ := json.Marshal(ch)
		fmt.Println(string(b))
	}
	// Output:
	// {"field":"email","old":"ada@example.com","new":"ada@example.org"}
	// {"field":"password","redacted":true}
	// {"field":"recovery","redacted":true}
	// {"field":"settings.theme","old":"dark","new":"light"}
	// {"field":"apiKey","redacted":true}
	// {"field":"keyboard_layout","old":"qwerty","new":"azerty"}
}

// The middleware puts the client IP, user agent, request id and actor in
// the request context; Record fills them in.
func ExampleMiddleware() {
	c, err := client.New("https://audit.example.com", os.Getenv("HASHTRAIL_API_KEY"), client.WithTenant("acme"))
	if err != nil {
		log.Fatal(err)
	}
	type userKey struct{}
	mw := client.Middleware(client.MiddlewareConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, // the load balancers
		Source:         "web",
		Actor: func(ctx context.Context) *hashtrail.Actor {
			if id, ok := ctx.Value(userKey{}).(string); ok {
				return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: id}
			}
			return nil
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /projects/{id}", func(w http.ResponseWriter, r *http.Request) {
		// ... delete the project, then:
		_ = c.Record(r.Context(), &hashtrail.Event{
			Action:  "project.delete",
			Targets: []hashtrail.Target{{Type: "project", ID: r.PathValue("id")}},
		})
	})
	_ = http.ListenAndServe(":8080", mw(mux))
}

// The event is written in the app's transaction and relayed once committed.
func ExampleOutbox() {
	var db *sql.DB // the app's database, opened with its driver
	c, err := client.New("https://audit.example.com", os.Getenv("HASHTRAIL_API_KEY"), client.WithTenant("acme"))
	if err != nil {
		log.Fatal(err)
	}
	ob, err := client.NewOutbox(db, c, client.OutboxConfig{Dialect: client.Postgres})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := ob.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	go ob.Run(ctx) // in every app process: one relays at a time

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE projects SET archived = true WHERE id = $1`, 7); err != nil {
		return // rolled back: no event
	}
	if err := ob.Record(ctx, tx, &hashtrail.Event{Action: "project.archive",
		Targets: []hashtrail.Target{{Type: "project", ID: "7"}}}); err != nil {
		return
	}
	_ = tx.Commit() // the event exists exactly when this commits
}
