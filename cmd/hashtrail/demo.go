package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/oklog/ulid/v2"
)

// The sample data of `serve --demo`.
var demoTenants = []hashtrail.Tenant{
	{ID: "acme", Name: "Acme Corp"},
	{ID: "globex", Name: "Globex Corporation"},
	{ID: "initech", Name: "Initech"},
}

const (
	demoSeed  = 2026 // the same sample data on every machine
	demoCount = 450  // events over all demo tenants
)

// loadDemo fills every demo tenant whose log is empty with sample events,
// through svc as the local operator (a context without a principal), so a
// restart never duplicates them. It creates missing demo tenants and returns
// how many events it wrote.
func loadDemo(ctx context.Context, svc hashtrail.LogService, now time.Time, log *slog.Logger) (int, error) {
	ids := make([]string, len(demoTenants))
	for i, t := range demoTenants {
		ids[i] = t.ID
	}
	events := demoEvents(demoSeed, demoCount, ids, now)
	loaded := 0
	for _, dt := range demoTenants {
		t, err := svc.Tenant(ctx, dt.ID)
		switch {
		case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
			if _, err := svc.CreateTenant(ctx, &hashtrail.Tenant{ID: dt.ID, Name: dt.Name}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				return loaded, fmt.Errorf("demo: creating tenant %s: %w", dt.ID, err)
			}
		case err != nil:
			return loaded, fmt.Errorf("demo: %w", err)
		case t.Size > 0:
			log.Info("demo tenant already has events; not loading samples", "tenant", dt.ID, "events", t.Size)
			continue
		}
		var subs []*hashtrail.Submission
		for _, ev := range events {
			if ev.Tenant != dt.ID {
				continue
			}
			raw, err := eventJSON(ev)
			if err != nil {
				return loaded, err
			}
			sub, ferrs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: dt.ID}, hashtrail.NewTime(now))
			if len(ferrs) > 0 {
				return loaded, fmt.Errorf("demo: a sample event is invalid: %s: %s", ferrs[0].Field, ferrs[0].Message)
			}
			sub.Index = len(subs)
			subs = append(subs, sub)
		}
		for chunk := range slices.Chunk(subs, 500) {
			if _, err := svc.Ingest(ctx, &hashtrail.IngestRequest{Tenant: dt.ID, Submissions: chunk}); err != nil {
				return loaded, fmt.Errorf("demo: loading tenant %s: %w", dt.ID, err)
			}
		}
		loaded += len(subs)
		log.Info("loaded demo events", "tenant", dt.ID, "events", len(subs))
	}
	return loaded, nil
}

// eventJSON returns ev as a client would send it: without the fields the
// server assigns (seq, received_at, leaf_hash, key_id) and without empty
// top-level fields (tenant, category, severity, outcome when unset).
func eventJSON(ev *hashtrail.Event) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		switch {
		case k == "seq", k == "received_at", k == "leaf_hash", k == "key_id":
			delete(m, k)
		case string(v) == `""`, string(v) == "null":
			delete(m, k) // absent fields that Event writes anyway
		}
	}
	buf.Reset()
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// demoEvents returns n realistic sample events (600 to 1,100 bytes as JSON,
// see eventJSON; about 700 on average, logins about 630), spread at random over tenants and over the 30 days
// before now, oldest first. They are what a SaaS app sends: logins, failed
// logins (some for unknown addresses, from 192.0.2.0/24), 2FA changes,
// password changes, role assignments and permission grants/revokes, members
// added and removed, projects created, changed and deleted, env-var changes
// (secret ones redacted) and deploys with the command's output, API keys
// created. Every tenant with enough events gets at least one of each kind.
// Names, emails (*.example) and addresses (documentation ranges) are
// fictional. The result depends only on the arguments, ids included (ULIDs
// of the event time), so the same seed gives the same events: use another
// seed, or clear ID, for fresh ones (say, in a load generator). Category
// and outcome defaults are left to the server where the catalog implies them.
func demoEvents(seed int64, n int, tenants []string, now time.Time) []*hashtrail.Event {
	if n <= 0 || len(tenants) == 0 {
		return nil
	}
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(seed))
	src := rand.NewChaCha8(s)
	g := &demoGen{rng: rand.New(src), src: src}
	orgs := make([]*demoOrg, len(tenants))
	for i, t := range tenants {
		orgs[i] = g.newOrg(t)
	}
	const span = 30 * 24 * time.Hour
	start := now.Add(-span)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = start.Add(time.Duration(g.rng.Int64N(int64(span - time.Minute))))
	}
	slices.SortFunc(times, time.Time.Compare)
	owner := make([]int, n)
	kinds := make([]demoKind, n)
	byOrg := make([][]int, len(tenants))
	for i := range n {
		owner[i] = g.rng.IntN(len(tenants))
		byOrg[owner[i]] = append(byOrg[owner[i]], i)
		kinds[i] = g.kind()
	}
	for _, idx := range byOrg {
		// Each kind at least once, at random moments.
		for j, p := range g.rng.Perm(len(idx)) {
			if j >= int(kindCount) {
				break
			}
			kinds[idx[p]] = demoKind(j)
		}
	}
	out := make([]*hashtrail.Event, n)
	for i := range n {
		out[i] = g.event(orgs[owner[i]], kinds[i], times[i])
	}
	return out
}

// demoKind is a kind of sample event.
type demoKind int

const (
	kindLogin demoKind = iota
	kindLogout
	kindLoginFailed
	kindLoginUnknown
	kindMFAEnable
	kindMFADisable
	kindPasswordChange
	kindRoleAssign
	kindPermGrant
	kindPermRevoke
	kindMemberAdd
	kindMemberRemove
	kindProjectCreate
	kindProjectUpdate
	kindProjectDelete
	kindEnvVarSecret
	kindEnvVarPlain
	kindDeploy
	kindAPIKeyCreate
	kindCount
)

// demoWeights is how often each kind occurs, relatively.
var demoWeights = [kindCount]int{
	kindLogin: 30, kindLogout: 8, kindLoginFailed: 6, kindLoginUnknown: 5, kindMFAEnable: 2,
	kindMFADisable: 1, kindPasswordChange: 3, kindRoleAssign: 4, kindPermGrant: 3, kindPermRevoke: 2,
	kindMemberAdd: 3, kindMemberRemove: 2, kindProjectCreate: 3, kindProjectUpdate: 4, kindProjectDelete: 1,
	kindEnvVarSecret: 2, kindEnvVarPlain: 1, kindDeploy: 5, kindAPIKeyCreate: 2,
}

type demoPerson struct {
	id, name, email, role, ip, ua, auth string
	loc                                 hashtrail.Location
	mfa                                 bool
}

type demoOrg struct {
	tenant, domain string
	svc            hashtrail.Service
	members        []*demoPerson
	projects       []string
	nextUser       int
}

// demoGen holds the generator's random state.
type demoGen struct {
	rng *rand.Rand
	src *rand.ChaCha8 // also the ULID entropy
}

var (
	demoNames = []string{"Maria Garcia", "Wei Chen", "Priya Natarajan", "Tom Becker", "Aisha Okafor", "Lukas Schmidt",
		"Sofia Rossi", "James O'Neil", "Elena Petrova", "Kenji Watanabe", "Fatima Zahra", "Noah Williams",
		"Chloé Dubois", "Diego Fernández", "Zoë Sørensen", "Samir Haddad", "Hannah Müller", "Lina Kowalski",
		"Oliver Brown", "Yuki Tanaka", "Peter Gibbons", "Joanna Smith", "Milton Waddams", "Bill Lumbergh"}
	demoLocations = []hashtrail.Location{{Country: "US", City: "Austin"}, {Country: "DE", City: "Berlin"},
		{Country: "GB", City: "London"}, {Country: "FR", City: "Paris"},
		{Country: "NL", City: "Amsterdam"}, {Country: "JP", City: "Tokyo"},
		{Country: "CA", City: "Toronto"}, {Country: "IN", City: "Bengaluru"},
		{Country: "BR", City: "São Paulo"}, {Country: "SE", City: "Stockholm"}}
	demoAgents = []string{ // {tenant} is replaced, for the tenant's own apps
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"{tenant}-ios/5.2.1 CFNetwork/1568.200.51 Darwin/24.1.0",
		"{tenant}-cli/1.8.2 (linux; amd64)",
	}
	demoAuths    = []string{"password", "password+totp", "webauthn", "oauth:github", "saml"}
	demoRoles    = []string{"viewer", "developer", "developer", "billing", "admin"}
	demoPerms    = []string{"projects:write", "deploys:create", "billing:read", "members:invite", "audit_log:read", "env_vars:write"}
	demoProjects = []string{"checkout-service", "mobile-app", "data-pipeline", "marketing-site", "billing-api", "search-indexer",
		"customer-portal", "payments-gateway", "ml-recommender", "internal-wiki", "tps-reports", "status-page"}
	demoSecretVars = []string{"DATABASE_URL", "STRIPE_SECRET_KEY", "REDIS_URL", "SENTRY_DSN", "SMTP_PASSWORD"}
	demoPlainVars  = [][3]string{{"LOG_LEVEL", "info", "debug"}, {"WEB_CONCURRENCY", "2", "4"}, {"FEATURE_NEW_CHECKOUT", "false", "true"}}
	emailFold      = strings.NewReplacer("é", "e", "á", "a", "ë", "e", "ø", "o", "ü", "u", "'", "", " ", ".")
)

func (g *demoGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }
func (g *demoGen) hex(n int) string {
	b := make([]byte, n)
	_, _ = g.src.Read(b)
	return hex.EncodeToString(b)
}

// kind draws a kind by demoWeights.
func (g *demoGen) kind() demoKind {
	total := 0
	for _, w := range demoWeights {
		total += w
	}
	r := g.rng.IntN(total)
	for k, w := range demoWeights {
		if r -= w; r < 0 {
			return demoKind(k)
		}
	}
	return kindLogin
}

// newOrg makes a tenant's cast: an owner, a few members, some projects.
func (g *demoGen) newOrg(tenant string) *demoOrg {
	o := &demoOrg{tenant: tenant, domain: tenant + ".example",
		svc: hashtrail.Service{Name: tenant + "-app", Environment: "production"}}
	for i := range 6 + g.rng.IntN(3) {
		p := g.person(o)
		if i == 0 {
			p.role = "owner"
		}
		o.members = append(o.members, p)
	}
	for _, i := range g.rng.Perm(len(demoProjects))[:4] {
		o.projects = append(o.projects, demoProjects[i])
	}
	return o
}

// person makes a new person for org o.
func (g *demoGen) person(o *demoOrg) *demoPerson {
	o.nextUser++
	name := g.pick(demoNames)
	ip := fmt.Sprintf("198.51.100.%d", 1+g.rng.IntN(254))
	switch g.rng.IntN(3) {
	case 0:
		ip = fmt.Sprintf("203.0.113.%d", 1+g.rng.IntN(254))
	case 1:
		ip = fmt.Sprintf("2001:db8:%x:%x::%x", g.rng.IntN(0xffff), g.rng.IntN(0xffff), 1+g.rng.IntN(0xfff))
	}
	auth := g.pick(demoAuths)
	return &demoPerson{
		id: fmt.Sprintf("%d", 1000+o.nextUser*7+g.rng.IntN(7)), name: name,
		email: strings.ToLower(emailFold.Replace(name)) + "@" + o.domain, role: g.pick(demoRoles),
		ip: ip, ua: strings.ReplaceAll(g.pick(demoAgents), "{tenant}", o.tenant), auth: auth, loc: demoLocations[g.rng.IntN(len(demoLocations))],
		mfa: auth == "password+totp" || auth == "webauthn",
	}
}

// admin returns a member who may manage the org.
func (o *demoOrg) admin(g *demoGen) *demoPerson {
	var admins []*demoPerson
	for _, p := range o.members {
		if p.role == "owner" || p.role == "admin" {
			admins = append(admins, p)
		}
	}
	return admins[g.rng.IntN(len(admins))]
}

// other returns a member other than the owner and than not.
func (o *demoOrg) other(g *demoGen, not *demoPerson) *demoPerson {
	for {
		p := o.members[g.rng.IntN(len(o.members))]
		if p != not && p.role != "owner" {
			return p
		}
	}
}

func userActor(p *demoPerson) *hashtrail.Actor {
	a := &hashtrail.Actor{Type: hashtrail.ActorUser, ID: p.id, Name: p.name, Email: p.email,
		Auth: &hashtrail.Auth{Method: p.auth, MFA: &p.mfa}}
	if provider, ok := strings.CutPrefix(p.auth, "oauth:"); ok {
		a.Auth.Provider = provider
	} else if p.auth == "saml" {
		a.Auth.Provider = "okta"
	}
	return a
}

func userTarget(p *demoPerson) hashtrail.Target {
	return hashtrail.Target{Type: "user", ID: p.id, Name: p.name}
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// event makes one event of kind k in org o at time at.
func (g *demoGen) event(o *demoOrg, k demoKind, at time.Time) *hashtrail.Event {
	actor := o.members[g.rng.IntN(len(o.members))]
	host := fmt.Sprintf("web-%d", 1+g.rng.IntN(3))
	svc := o.svc
	svc.Host = host
	ev := &hashtrail.Event{
		ID:      ulid.MustNew(ulid.Timestamp(at), g.src).String(),
		Time:    hashtrail.NewTime(at),
		Tenant:  o.tenant,
		Service: &svc,
		Context: &hashtrail.Context{IP: actor.ip, UserAgent: actor.ua, SessionID: "sess_" + g.hex(6), RequestID: "req_" + g.hex(6),
			Method: "POST", Source: "web", Location: &actor.loc},
	}
	if strings.Contains(actor.ua, "-cli/") {
		ev.Context.Source = "cli"
	}
	setPath := func(format string, args ...any) { ev.Context.Path = fmt.Sprintf(format, args...) }
	switch k {
	case kindLogin, kindLogout:
		ev.Action, ev.Actor = "user.login", userActor(actor)
		setPath("/api/v1/auth/login")
		if k == kindLogout {
			ev.Action = "user.logout"
			setPath("/api/v1/auth/logout")
		} else if g.rng.IntN(8) == 0 {
			ev.Context.Location = &demoLocations[g.rng.IntN(len(demoLocations))]
			ev.Severity, ev.Tags = hashtrail.SeverityLow, []string{"new_location"}
		}
	case kindLoginFailed:
		ev.Action, ev.Actor, ev.Outcome = "user.login_failed", userActor(actor), hashtrail.OutcomeFailure
		ev.Error = "invalid password"
		if actor.mfa && g.rng.IntN(2) == 0 {
			ev.Error = "invalid two-factor code"
		}
		ev.Context.SessionID = ""
		setPath("/api/v1/auth/login")
	case kindLoginUnknown:
		user := g.pick([]string{"admin", "root", "test", "support", "ceo", "info"})
		ev.Action, ev.Outcome = "user.login_failed", hashtrail.OutcomeFailure
		ev.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, Email: user + "@" + o.domain}
		ev.Error, ev.Tags = "no account with this email address", []string{"unknown_account"}
		ev.Context = &hashtrail.Context{IP: fmt.Sprintf("192.0.2.%d", 1+g.rng.IntN(254)), UserAgent: g.pick([]string{"python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1"}),
			RequestID: "req_" + g.hex(6), Method: "POST", Path: "/api/v1/auth/login", Source: "api",
			Location: &demoLocations[g.rng.IntN(len(demoLocations))]}
		if g.rng.IntN(3) == 0 {
			ev.Severity, ev.Tags = hashtrail.SeverityHigh, append(ev.Tags, "credential_stuffing")
		}
	case kindMFAEnable, kindMFADisable:
		factor := g.pick([]string{"totp", "webauthn"})
		ev.Action, ev.Actor, ev.Metadata = "user.mfa_enable", userActor(actor), rawJSON(map[string]string{"factor": factor})
		actor.mfa, actor.auth = true, "password+totp"
		if k == kindMFADisable {
			ev.Action, ev.Severity = "user.mfa_disable", hashtrail.SeverityMedium
			actor.mfa, actor.auth = false, "password"
		}
		setPath("/api/v1/account/two-factor")
	case kindPasswordChange:
		ev.Action, ev.Actor = "user.password_change", userActor(actor)
		ev.Changes = []hashtrail.Change{{Field: "password", Redacted: true}}
		setPath("/api/v1/account/password")
	case kindRoleAssign:
		admin := o.admin(g)
		target := o.other(g, admin)
		role := g.pick([]string{"viewer", "developer", "billing", "admin"})
		ev.Action, ev.Actor, ev.Context.IP, ev.Context.UserAgent = "role.assign", userActor(admin), admin.ip, admin.ua
		ev.Targets = []hashtrail.Target{userTarget(target), {Type: "role", ID: role, Name: strings.ToUpper(role[:1]) + role[1:]}}
		ev.Changes = []hashtrail.Change{{Field: "role", Old: rawJSON(target.role), New: rawJSON(role)}}
		ev.Reason = fmt.Sprintf("requested in ticket IT-%d", 1000+g.rng.IntN(9000))
		if role == "admin" {
			ev.Severity = hashtrail.SeverityMedium
		}
		target.role = role
		setPath("/api/v1/members/%s/role", target.id)
		ev.Context.Method = "PUT"
	case kindPermGrant, kindPermRevoke:
		admin := o.admin(g)
		role, perm := g.pick([]string{"developer", "viewer", "billing"}), g.pick(demoPerms)
		ev.Action, ev.Actor, ev.Context.IP, ev.Context.UserAgent = "role.permission_grant", userActor(admin), admin.ip, admin.ua
		ev.Targets = []hashtrail.Target{{Type: "role", ID: role}, {Type: "permission", ID: perm}}
		ev.Severity = hashtrail.SeverityLow
		if k == kindPermRevoke {
			ev.Action, ev.Context.Method = "role.permission_revoke", "DELETE"
		}
		setPath("/api/v1/roles/%s/permissions", role)
	case kindMemberAdd:
		admin := o.admin(g)
		p := g.person(o)
		p.role = "developer"
		o.members = append(o.members, p)
		ev.Action, ev.Actor, ev.Context.IP, ev.Context.UserAgent = "member.add", userActor(admin), admin.ip, admin.ua
		ev.Targets = []hashtrail.Target{userTarget(p)}
		ev.Metadata = rawJSON(map[string]any{"invited_as": p.role, "invitation_accepted": true})
		setPath("/api/v1/members")
	case kindMemberRemove:
		admin := o.admin(g)
		if len(o.members) <= 3 {
			return g.event(o, kindMemberAdd, at)
		}
		p := o.other(g, admin)
		o.members = slices.DeleteFunc(o.members, func(m *demoPerson) bool { return m == p })
		ev.Action, ev.Actor, ev.Context.IP, ev.Context.UserAgent = "member.remove", userActor(admin), admin.ip, admin.ua
		ev.Targets, ev.Severity, ev.Reason = []hashtrail.Target{userTarget(p)}, hashtrail.SeverityLow, "offboarding: left the company"
		setPath("/api/v1/members/%s", p.id)
		ev.Context.Method = "DELETE"
	case kindProjectCreate, kindProjectUpdate, kindProjectDelete:
		g.project(ev, o, k)
	case kindEnvVarSecret, kindEnvVarPlain, kindDeploy:
		g.appChange(ev, o, k)
	case kindAPIKeyCreate:
		name := g.pick([]string{"ci-deploy", "terraform", "metrics-exporter", "backup-job"})
		ev.Action, ev.Actor, ev.Severity = "api_key.create", userActor(actor), hashtrail.SeverityMedium
		ev.Targets = []hashtrail.Target{{Type: "api_key", ID: "ak_" + g.hex(6), Name: name}}
		ev.Metadata = rawJSON(map[string]any{"scopes": []string{"projects:read", "deploys:create"}, "expires_in_days": 90})
		setPath("/api/v1/api-keys")
	}
	return ev
}

// project fills a project.create, project.update or project.delete event.
func (g *demoGen) project(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	actor := o.admin(g)
	ev.Actor, ev.Context.IP, ev.Context.UserAgent = userActor(actor), actor.ip, actor.ua
	if k == kindProjectDelete && len(o.projects) < 2 {
		k = kindProjectCreate
	}
	name := o.projects[g.rng.IntN(len(o.projects))]
	switch k {
	case kindProjectCreate:
		name = g.pick(demoProjects)
		if slices.Contains(o.projects, name) {
			name += "-" + g.hex(2)
		}
		o.projects = append(o.projects, name)
		ev.Action = "project.create"
		ev.Metadata = rawJSON(map[string]string{"visibility": "private", "region": g.pick([]string{"eu-west-1", "us-east-1", "ap-northeast-1"})})
		ev.Context.Path = "/api/v1/projects"
	case kindProjectUpdate:
		ev.Action, ev.Context.Method = "project.update", "PATCH"
		ev.Changes = []hashtrail.Change{{Field: "visibility", Old: rawJSON("private"), New: rawJSON("internal")}}
		if g.rng.IntN(2) == 0 {
			ev.Changes = []hashtrail.Change{{Field: "default_branch", Old: rawJSON("master"), New: rawJSON("main")}}
		}
		ev.Context.Path = "/api/v1/projects/" + name
	case kindProjectDelete:
		o.projects = slices.DeleteFunc(o.projects, func(p string) bool { return p == name })
		ev.Action, ev.Context.Method, ev.Severity = "project.delete", "DELETE", hashtrail.SeverityHigh
		ev.Reason = "decommissioned; data archived to cold storage"
		ev.Context.Path = "/api/v1/projects/" + name
	}
	ev.Targets = []hashtrail.Target{{Type: "project", ID: name}}
}

// appChange fills an env-var change or a deploy, with the command's output.
// Half the deploys are made by CI with an API key.
func (g *demoGen) appChange(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	actor := o.admin(g)
	ev.Actor, ev.Context.IP, ev.Context.UserAgent = userActor(actor), actor.ip, actor.ua
	app := o.projects[g.rng.IntN(len(o.projects))]
	ev.Targets = []hashtrail.Target{{Type: "app", ID: app}}
	zero, one := 0, 1
	switch k {
	case kindEnvVarSecret:
		name := g.pick(demoSecretVars)
		ev.Action, ev.Severity, ev.Reason = "app.env_var_change", hashtrail.SeverityMedium, fmt.Sprintf("rotate credentials (OPS-%d)", 100+g.rng.IntN(900))
		ev.Targets = append(ev.Targets, hashtrail.Target{Type: "env_var", ID: name})
		ev.Changes = []hashtrail.Change{{Field: name, Redacted: true}}
		ev.Output = &hashtrail.Output{Command: "dokku config:set --no-restart " + app + " " + name, ExitCode: &zero,
			Stdout: "-----> Setting config vars\n       " + name + ":  [redacted]\n"}
		ev.Context.Path = "/api/v1/apps/" + app + "/env"
	case kindEnvVarPlain:
		v := demoPlainVars[g.rng.IntN(len(demoPlainVars))]
		ev.Action = "app.env_var_change"
		ev.Targets = append(ev.Targets, hashtrail.Target{Type: "env_var", ID: v[0]})
		ev.Changes = []hashtrail.Change{{Field: v[0], Old: rawJSON(v[1]), New: rawJSON(v[2])}}
		ev.Output = &hashtrail.Output{Command: "dokku config:set " + app + " " + v[0] + "=" + v[2], ExitCode: &zero,
			Stdout: "-----> Setting config vars\n       " + v[0] + ":  " + v[2] + "\n-----> Restarting app " + app + "\n"}
		ev.Context.Path = "/api/v1/apps/" + app + "/env"
	case kindDeploy:
		rev := g.hex(4)[:7]
		ev.Action, ev.Context.Path = "app.deploy", "/api/v1/apps/"+app+"/deploys"
		ev.Metadata = rawJSON(map[string]string{"git_ref": rev, "branch": "main"})
		if g.rng.IntN(2) == 0 {
			ev.Actor = &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: "ak_ci" + g.hex(3), Name: "GitHub Actions deploy"}
			ev.Context = &hashtrail.Context{IP: "2001:db8:ffff::" + g.hex(1), UserAgent: "GitHub-Actions/2.321.0", RequestID: "req_" + g.hex(6),
				Method: "POST", Path: "/api/v1/apps/" + app + "/deploys", Source: "api"}
		}
		ev.Output = &hashtrail.Output{Command: "dokku git:sync --build " + app + " " + rev, ExitCode: &zero,
			Stdout: fmt.Sprintf("-----> Building %s from Dockerfile\n-----> Releasing %s (dokku/%s:latest)...\n=====> Application deployed:\n       https://%s.%s\n", app, app, app, app, o.domain)}
		if g.rng.IntN(6) == 0 {
			ev.Outcome, ev.Severity, ev.Error = hashtrail.OutcomeFailure, hashtrail.SeverityLow, "build failed"
			ev.Output.ExitCode = &one
			ev.Output.Stdout = "-----> Building " + app + " from Dockerfile\n"
			ev.Output.Stderr = "npm ERR! code ELIFECYCLE\nnpm ERR! " + app + "@1.0.0 build: `vite build`\n !     Build failed\n"
		}
	}
}
