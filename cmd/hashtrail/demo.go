package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/oklog/ulid/v2"
)

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

// demoEvents returns n realistic sample events, spread at random over
// tenants and over the six weeks before now (mostly in working hours, fewer
// at weekends), oldest first: what a SaaS app
// sends. As JSON (eventJSON) they are 550 to 1,100 bytes, about 700 on
// average. There are logins, failed logins (some for unknown addresses, from
// 192.0.2.0/24), 2FA and password changes, role assignments and permission
// grants/revokes, members added and removed, projects created, changed and
// deleted, env-var changes (secret ones redacted) and deploys with the
// command's output, API keys created, commands run on servers (one
// failing), data exports (bulk ones high severity) and support admins
// signing in as a customer (impersonation, high severity); every tenant
// with at least 22 events gets one of each. Names, emails (*.example) and addresses
// (documentation ranges) are fictional. The result depends only on the
// arguments, ids (ULIDs) included: use another seed, or clear ID, for fresh
// events (in a load generator, say). Category and outcome are left to the
// server's defaults where the catalog implies them. serve --demo and
// benchmarks use it.
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
	const days = 42
	start := now.Add(-days * 24 * time.Hour)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = g.workTime(start, now, days)
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
	kindCommandRun
	kindDataExport
	kindImpersonate
	kindCount
)

// demoWeights is how often each kind occurs, relatively.
var demoWeights = [kindCount]int{
	kindLogin: 30, kindLogout: 8, kindLoginFailed: 6, kindLoginUnknown: 5, kindMFAEnable: 2,
	kindMFADisable: 1, kindPasswordChange: 3, kindRoleAssign: 4, kindPermGrant: 3, kindPermRevoke: 2,
	kindMemberAdd: 3, kindMemberRemove: 2, kindProjectCreate: 3, kindProjectUpdate: 4, kindProjectDelete: 1,
	kindEnvVarSecret: 2, kindEnvVarPlain: 1, kindDeploy: 5, kindAPIKeyCreate: 2,
	kindCommandRun: 2, kindDataExport: 1, kindImpersonate: 1,
}

// demoPerson is someone of an org's cast.
type demoPerson struct {
	id, name, email, role, ip, ua, auth string
	loc                                 hashtrail.Location
	mfa                                 bool
}

// demoOrg is one tenant's organisation as the generator goes along.
type demoOrg struct {
	tenant, domain, ciKey string
	svc                   hashtrail.Service
	members               []*demoPerson
	projects              []string
	names                 map[string]int // people per name, so emails are unique
	nextUser              int
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

// pick returns one of list at random.
func (g *demoGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// hex returns n random bytes in hex.
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
	o := &demoOrg{tenant: tenant, domain: tenant + ".example", ciKey: "ak_" + g.hex(6), names: map[string]int{},
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
	for tries := 0; o.names[name] > 0 && tries < 2*len(demoNames); tries++ {
		name = g.pick(demoNames)
	}
	o.names[name]++
	local := strings.ToLower(emailFold.Replace(name))
	if n := o.names[name]; n > 1 {
		local += fmt.Sprint(n) // a namesake
	}
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
		email: local + "@" + o.domain, role: g.pick(demoRoles),
		ip: ip, ua: strings.ReplaceAll(g.pick(demoAgents), "{tenant}", o.tenant), auth: auth, loc: demoLocations[g.rng.IntN(len(demoLocations))],
		mfa: auth == "password+totp" || auth == "webauthn",
	}
}

// find returns a random member for whom ok holds, or nil.
func (o *demoOrg) find(g *demoGen, ok func(*demoPerson) bool) *demoPerson {
	var found []*demoPerson
	for _, p := range o.members {
		if ok(p) {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return found[g.rng.IntN(len(found))]
}

// admin returns a member who may manage the org; there is always the owner.
func (o *demoOrg) admin(g *demoGen) *demoPerson {
	return o.find(g, func(p *demoPerson) bool { return p.role == "owner" || p.role == "admin" })
}

// other returns a member who is neither the owner nor not.
func (o *demoOrg) other(g *demoGen, not *demoPerson) *demoPerson {
	for {
		p := o.members[g.rng.IntN(len(o.members))]
		if p != not && p.role != "owner" {
			return p
		}
	}
}

// userActor returns p as an event's actor, as p is now.
func userActor(p *demoPerson) *hashtrail.Actor {
	mfa := p.mfa
	a := &hashtrail.Actor{Type: hashtrail.ActorUser, ID: p.id, Name: p.name, Email: p.email,
		Auth: &hashtrail.Auth{Method: p.auth, MFA: &mfa}}
	if provider, ok := strings.CutPrefix(p.auth, "oauth:"); ok {
		a.Auth.Provider = provider
	} else if p.auth == "saml" {
		a.Auth.Provider = "okta"
	}
	return a
}

// userTarget returns p as an event's target.
func userTarget(p *demoPerson) hashtrail.Target {
	return hashtrail.Target{Type: "user", ID: p.id, Name: p.name}
}

// rawJSON returns v as JSON.
func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// byAdmin reports whether only an owner or admin does events of kind k.
func (k demoKind) byAdmin() bool {
	return k >= kindRoleAssign && k != kindAPIKeyCreate && k != kindCommandRun && k != kindDataExport
}

// event makes one event of kind k in org o at time at.
func (g *demoGen) event(o *demoOrg, k demoKind, at time.Time) *hashtrail.Event {
	if k == kindMemberRemove && len(o.members) <= 4 {
		k = kindMemberAdd
	}
	if k == kindProjectDelete && len(o.projects) < 2 {
		k = kindProjectCreate
	}
	actor := o.members[g.rng.IntN(len(o.members))]
	switch {
	case k.byAdmin():
		actor = o.admin(g)
	case k == kindMFAEnable || k == kindMFADisable:
		// Only someone without 2FA turns it on, and the other way round.
		if p := o.find(g, func(p *demoPerson) bool { return p.mfa == (k == kindMFADisable) }); p != nil {
			actor = p
		}
	}
	svc := o.svc
	svc.Host = fmt.Sprintf("web-%d", 1+g.rng.IntN(3))
	loc := actor.loc
	ev := &hashtrail.Event{
		ID:      ulid.MustNew(ulid.Timestamp(at), g.src).String(),
		Time:    hashtrail.NewTime(at),
		Tenant:  o.tenant,
		Actor:   userActor(actor),
		Service: &svc,
		Context: &hashtrail.Context{IP: actor.ip, UserAgent: actor.ua, SessionID: "sess_" + g.hex(6), RequestID: "req_" + g.hex(6),
			Method: "POST", Source: "web", Location: &loc},
	}
	if strings.Contains(actor.ua, "-cli/") {
		ev.Context.Source = "cli"
	}
	switch {
	case k <= kindPasswordChange:
		g.account(ev, o, actor, k)
	case k <= kindMemberRemove:
		g.membership(ev, o, k)
	case k <= kindProjectDelete:
		g.project(ev, o, k)
	case k <= kindDeploy:
		g.appChange(ev, o, k)
	case k >= kindCommandRun:
		g.operations(ev, o, k)
	default:
		ev.Action, ev.Severity, ev.Context.Path = "api_key.create", hashtrail.SeverityMedium, "/api/v1/api-keys"
		ev.Targets = []hashtrail.Target{{Type: "api_key", ID: "ak_" + g.hex(6), Name: g.pick([]string{"ci-deploy", "terraform", "metrics-exporter", "backup-job"})}}
		ev.Metadata = rawJSON(map[string]any{"scopes": []string{"projects:read", "deploys:create"}, "expires_in_days": 90})
	}
	return ev
}

// account fills a sign-in, 2FA or password event of actor.
func (g *demoGen) account(ev *hashtrail.Event, o *demoOrg, actor *demoPerson, k demoKind) {
	ev.Context.Path = "/api/v1/auth/login"
	switch k {
	case kindLogin:
		ev.Action = "user.login"
		if g.rng.IntN(8) == 0 {
			ev.Context.Location = &demoLocations[g.rng.IntN(len(demoLocations))]
			ev.Severity, ev.Tags = hashtrail.SeverityLow, []string{"new_location"}
		}
	case kindLogout:
		ev.Action, ev.Context.Path = "user.logout", "/api/v1/auth/logout"
	case kindLoginFailed:
		ev.Action, ev.Outcome, ev.Error, ev.Context.SessionID = "user.login_failed", hashtrail.OutcomeFailure, "invalid password", ""
		if actor.mfa && g.rng.IntN(2) == 0 {
			ev.Error = "invalid two-factor code"
		}
	case kindLoginUnknown:
		user := g.pick([]string{"admin", "root", "test", "support", "ceo", "info"})
		ev.Action, ev.Outcome = "user.login_failed", hashtrail.OutcomeFailure
		ev.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, Email: user + "@" + o.domain}
		ev.Error, ev.Tags = "no account with this email address", []string{"unknown_account"}
		ev.Context = &hashtrail.Context{IP: fmt.Sprintf("192.0.2.%d", 1+g.rng.IntN(254)),
			UserAgent: g.pick([]string{"python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1"}),
			RequestID: "req_" + g.hex(6), Method: "POST", Path: "/api/v1/auth/login", Source: "api",
			Location: &demoLocations[g.rng.IntN(len(demoLocations))]}
		if g.rng.IntN(3) == 0 {
			ev.Severity, ev.Tags = hashtrail.SeverityHigh, append(ev.Tags, "credential_stuffing")
		}
	case kindMFAEnable, kindMFADisable:
		ev.Action, ev.Context.Path = "user.mfa_enable", "/api/v1/account/two-factor"
		ev.Metadata = rawJSON(map[string]string{"factor": g.pick([]string{"totp", "webauthn"})})
		actor.mfa, actor.auth = true, "password+totp"
		if k == kindMFADisable {
			ev.Action, ev.Severity, ev.Context.Method = "user.mfa_disable", hashtrail.SeverityMedium, "DELETE"
			actor.mfa, actor.auth = false, "password"
		}
	case kindPasswordChange:
		ev.Action, ev.Context.Path = "user.password_change", "/api/v1/account/password"
		ev.Changes = []hashtrail.Change{{Field: "password", Redacted: true}}
	}
}

// membership fills a role, permission or member event made by an admin.
func (g *demoGen) membership(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	admin := o.members[slices.IndexFunc(o.members, func(p *demoPerson) bool { return p.id == ev.Actor.ID })]
	switch k {
	case kindRoleAssign:
		target := o.other(g, admin)
		role := g.pick([]string{"viewer", "developer", "billing", "admin"})
		ev.Action, ev.Context.Method, ev.Context.Path = "role.assign", "PUT", "/api/v1/members/"+target.id+"/role"
		ev.Targets = []hashtrail.Target{userTarget(target), {Type: "role", ID: role, Name: strings.ToUpper(role[:1]) + role[1:]}}
		ev.Changes = []hashtrail.Change{{Field: "role", Old: rawJSON(target.role), New: rawJSON(role)}}
		ev.Reason = fmt.Sprintf("requested in ticket IT-%d", 1000+g.rng.IntN(9000))
		if role == "admin" {
			ev.Severity = hashtrail.SeverityMedium
		}
		target.role = role
	case kindPermGrant, kindPermRevoke:
		role, perm := g.pick([]string{"developer", "viewer", "billing"}), g.pick(demoPerms)
		ev.Action, ev.Severity, ev.Context.Path = "role.permission_grant", hashtrail.SeverityLow, "/api/v1/roles/"+role+"/permissions"
		ev.Targets = []hashtrail.Target{{Type: "role", ID: role}, {Type: "permission", ID: perm}}
		if k == kindPermRevoke {
			ev.Action, ev.Context.Method = "role.permission_revoke", "DELETE"
		}
	case kindMemberAdd:
		p := g.person(o)
		p.role = "developer"
		o.members = append(o.members, p)
		ev.Action, ev.Context.Path, ev.Targets = "member.add", "/api/v1/members", []hashtrail.Target{userTarget(p)}
		ev.Metadata = rawJSON(map[string]any{"invited_as": p.role, "invitation_accepted": true})
	case kindMemberRemove:
		p := o.other(g, admin)
		o.members = slices.DeleteFunc(o.members, func(m *demoPerson) bool { return m == p })
		ev.Action, ev.Context.Method, ev.Context.Path = "member.remove", "DELETE", "/api/v1/members/"+p.id
		ev.Targets, ev.Severity, ev.Reason = []hashtrail.Target{userTarget(p)}, hashtrail.SeverityLow, "offboarding: left the company"
	}
}

// project fills a project.create, project.update or project.delete event.
func (g *demoGen) project(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	name := o.projects[g.rng.IntN(len(o.projects))]
	ev.Context.Path = "/api/v1/projects/" + name
	switch k {
	case kindProjectCreate:
		name = g.pick(demoProjects)
		if slices.Contains(o.projects, name) {
			name += "-" + g.hex(2)
		}
		o.projects = append(o.projects, name)
		ev.Action, ev.Context.Path = "project.create", "/api/v1/projects"
		ev.Metadata = rawJSON(map[string]string{"visibility": "private", "region": g.pick([]string{"eu-west-1", "us-east-1", "ap-northeast-1"})})
	case kindProjectUpdate:
		ev.Action, ev.Context.Method = "project.update", "PATCH"
		ev.Changes = []hashtrail.Change{{Field: "visibility", Old: rawJSON("private"), New: rawJSON("internal")}}
		if g.rng.IntN(2) == 0 {
			ev.Changes = []hashtrail.Change{{Field: "default_branch", Old: rawJSON("master"), New: rawJSON("main")}}
		}
	case kindProjectDelete:
		o.projects = slices.DeleteFunc(o.projects, func(p string) bool { return p == name })
		ev.Action, ev.Context.Method, ev.Severity = "project.delete", "DELETE", hashtrail.SeverityHigh
		ev.Reason = "decommissioned; data archived to cold storage"
	}
	ev.Targets = []hashtrail.Target{{Type: "project", ID: name}}
}

// appChange fills an env-var change or a deploy, with the command's output.
// Half the deploys are made by CI with the org's deploy key.
func (g *demoGen) appChange(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	app := o.projects[g.rng.IntN(len(o.projects))]
	ev.Targets = []hashtrail.Target{{Type: "app", ID: app}}
	ev.Context.Path = "/api/v1/apps/" + app + "/env"
	zero, one := 0, 1
	switch k {
	case kindEnvVarSecret:
		name := g.pick(demoSecretVars)
		ev.Action, ev.Severity = "app.env_var_change", hashtrail.SeverityMedium
		ev.Reason = fmt.Sprintf("rotate credentials (OPS-%d)", 100+g.rng.IntN(900))
		ev.Targets = append(ev.Targets, hashtrail.Target{Type: "env_var", ID: name})
		ev.Changes = []hashtrail.Change{{Field: name, Redacted: true}}
		ev.Output = &hashtrail.Output{Command: "dokku config:set --no-restart " + app + " " + name, ExitCode: &zero,
			Stdout: "-----> Setting config vars\n       " + name + ":  [redacted]\n"}
	case kindEnvVarPlain:
		v := demoPlainVars[g.rng.IntN(len(demoPlainVars))]
		ev.Action = "app.env_var_change"
		ev.Targets = append(ev.Targets, hashtrail.Target{Type: "env_var", ID: v[0]})
		ev.Changes = []hashtrail.Change{{Field: v[0], Old: rawJSON(v[1]), New: rawJSON(v[2])}}
		ev.Output = &hashtrail.Output{Command: "dokku config:set " + app + " " + v[0] + "=" + v[2], ExitCode: &zero,
			Stdout: "-----> Setting config vars\n       " + v[0] + ":  " + v[2] + "\n-----> Restarting app " + app + "\n"}
	case kindDeploy:
		rev := g.hex(4)[:7]
		ev.Action, ev.Context.Path = "app.deploy", "/api/v1/apps/"+app+"/deploys"
		ev.Metadata = rawJSON(map[string]string{"git_ref": rev, "branch": "main"})
		if g.rng.IntN(2) == 0 {
			ev.Actor = &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: o.ciKey, Name: "GitHub Actions deploy"}
			ev.Context = &hashtrail.Context{IP: "2001:db8:ffff::" + g.hex(1), UserAgent: "GitHub-Actions/2.321.0", RequestID: "req_" + g.hex(6),
				Method: "POST", Path: ev.Context.Path, Source: "api"}
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

// workTime draws a moment in [start, now): a day, fewer at weekends, and
// an hour of the working day in UTC more often than the night.
func (g *demoGen) workTime(start, now time.Time, days int) time.Time {
	for {
		day := start.Add(time.Duration(g.rng.IntN(days)) * 24 * time.Hour).Truncate(24 * time.Hour)
		if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && g.rng.IntN(4) != 0 {
			continue
		}
		hour := 7 + g.rng.IntN(12) // 07:00-18:59 UTC
		if g.rng.IntN(6) == 0 {
			hour = g.rng.IntN(24)
		}
		t := day.Add(time.Duration(hour)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
		if !t.Before(start) && t.Before(now) {
			return t
		}
	}
}

// operations fills a command run by an operator, a data export, or a
// support admin acting as a customer (impersonation).
func (g *demoGen) operations(ev *hashtrail.Event, o *demoOrg, k demoKind) {
	zero, one := 0, 1
	app := o.projects[g.rng.IntN(len(o.projects))]
	switch k {
	case kindCommandRun:
		ev.Action, ev.Context.Source, ev.Context.Path = "command.run", "cli", ""
		ev.Targets = []hashtrail.Target{{Type: "app", ID: app}, {Type: "server", ID: fmt.Sprintf("web-%d", 1+g.rng.IntN(3))}}
		switch g.rng.IntN(3) {
		case 0:
			ev.Output = &hashtrail.Output{Command: "dokku run " + app + " rails db:migrate", ExitCode: &zero,
				Stdout: "== 20261101120000 AddInvoiceNumberToOrders: migrating ======\n-- add_column(:orders, :invoice_number, :string)\n   -> 0.0042s\n-- add_index(:orders, :invoice_number, {unique: true})\n   -> 0.0187s\n== 20261101120000 AddInvoiceNumberToOrders: migrated (0.0231s) =====\n"}
		case 1:
			ev.Output = &hashtrail.Output{Command: "dokku ps:restart " + app, ExitCode: &zero,
				Stdout: "-----> Restarting app " + app + "\n-----> Running post-deploy\n=====> Application restarted: web=2 worker=1\n"}
		default:
			ev.Output = &hashtrail.Output{Command: "dokku run " + app + " bin/rails runner 'Order.reindex!'", ExitCode: &one,
				Stderr: "ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within 5.000 seconds\n  from app/models/order.rb:88:in `reindex!'\n"}
			ev.Outcome, ev.Error = hashtrail.OutcomeFailure, "exit status 1"
		}
	case kindDataExport:
		ev.Action, ev.Severity, ev.Context.Path = "data.export", hashtrail.SeverityMedium, "/api/v1/exports"
		ev.Targets = []hashtrail.Target{{Type: "report", ID: g.pick([]string{"customers", "invoices", "audit-log", "usage"}), Name: ""}, {Type: "project", ID: app}}
		rows := 500 + g.rng.IntN(90000)
		ev.Metadata = rawJSON(map[string]any{"format": g.pick([]string{"csv", "xlsx", "json"}), "rows": rows})
		if rows > 50000 {
			ev.Severity, ev.Tags = hashtrail.SeverityHigh, []string{"bulk_export"}
		}
	case kindImpersonate:
		admin := o.admin(g)
		user := o.other(g, admin)
		ev.Action, ev.Severity, ev.Context.Path = "user.login", hashtrail.SeverityHigh, "/admin/impersonate/"+user.id
		ev.Actor = userActor(user)
		ev.Actor.Impersonator = &hashtrail.Impersonator{Type: hashtrail.ActorUser, ID: admin.id, Name: admin.name}
		ev.Reason = fmt.Sprintf("support ticket SUP-%d: customer cannot see their invoices", 2000+g.rng.IntN(8000))
		ev.Tags = []string{"impersonation"}
	}
}
