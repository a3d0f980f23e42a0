package ui

import (
	"encoding/json"
	"net/url"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// A sentence is an event told in one line, as pieces: plain words, and the
// actor and targets as links to their pages. It is generated when a page
// is rendered and never stored: it carries names (DESIGN §1).
type sentence []piece

// piece is one part of a sentence.
type piece struct {
	Text string
	Href string // a link to the actor's or target's page, or ""
	Code bool   // a command or identifier, shown in monospace
}

// String returns the sentence as plain text.
func (s sentence) String() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.Text)
	}
	return b.String()
}

// sentences is the table of sentence patterns by action: every action of
// the standard catalog has one (a test checks it); other actions get the
// generic pattern. A pattern's placeholders:
//
//	{actor}        who did it: name, else email, else id
//	{t:TYPE}       the first target of TYPE (a fallback such as "a role" when none)
//	{targets}      every target not named by a {t:TYPE}, "A, B and C"
//	{in}           " in project X" when the event has a project (or org, team, app) target not named otherwise
//	{fields}       " (field, field)": the changed fields
//	{from}         " from City, CC" when the location is known
//	{auth}         " with METHOD" when the authentication method is known
//	{command}      the command run (output.command, or metadata.command)
//	{meta:KEY}     a metadata string member, or nothing
//	{action}       the action
var sentences = map[string]string{
	"user.login":             "{actor} signed in{auth}{from}",
	"user.login_failed":      "{actor} failed to sign in{auth}{from}",
	"user.logout":            "{actor} signed out",
	"user.mfa_enable":        "{actor} turned on two-factor authentication",
	"user.mfa_disable":       "{actor} turned off two-factor authentication",
	"user.password_change":   "{actor} changed their password",
	"user.password_reset":    "{actor} reset the password of {t:user}",
	"user.create":            "{actor} created the account {t:user}",
	"user.update":            "{actor} updated the account {t:user}{fields}",
	"user.delete":            "{actor} deleted the account {t:user}",
	"user.email_change":      "{actor} changed the email address of {t:user}",
	"role.create":            "{actor} created role {t:role}",
	"role.delete":            "{actor} deleted role {t:role}",
	"role.assign":            "{actor} added {t:user} to role {t:role}{in}",
	"role.unassign":          "{actor} removed {t:user} from role {t:role}{in}",
	"role.permission_grant":  "{actor} granted {t:permission} to role {t:role}",
	"role.permission_revoke": "{actor} revoked {t:permission} from role {t:role}",
	"group.create":           "{actor} created group {t:group}",
	"group.delete":           "{actor} deleted group {t:group}",
	"member.add":             "{actor} added {t:user} as a member{in}",
	"member.remove":          "{actor} removed the member {t:user}{in}",
	"api_key.create":         "{actor} created API key {t:api_key}",
	"api_key.revoke":         "{actor} revoked API key {t:api_key}",
	"api_key.use":            "{actor} used API key {t:api_key}",
	"access.request":         "{actor} requested access to {targets}",
	"access.grant":           "{actor} granted access to {targets}",
	"access.deny":            "{actor} denied access to {targets}",
	"project.create":         "{actor} created project {t:project}",
	"project.update":         "{actor} updated project {t:project}{fields}",
	"project.delete":         "{actor} deleted project {t:project}",
	"app.env_var_add":        "{actor} added environment variable {t:env_var} to {t:app}",
	"app.env_var_change":     "{actor} changed environment variable {t:env_var} of {t:app}",
	"app.env_var_remove":     "{actor} removed environment variable {t:env_var} from {t:app}",
	"settings.update":        "{actor} updated settings{fields} of {targets}",
	"app.deploy":             "{actor} deployed {t:app}{meta:git_ref}",
	"command.run":            "{actor} ran {command}{in}",
	"data.export":            "{actor} exported {targets}",
	"data.read":              "{actor} read {targets}",
	"system.subject_erased":  "The personal data of a data subject was erased",
	"system.retention_purge": "Events past their retention period were purged",
}

// genericSentence is the pattern of actions the table does not know.
const genericSentence = "{actor} performed {action} on {targets}"

// fallbacks are the words for a {t:TYPE} the event has no target for.
var fallbacks = map[string]string{
	"user": "an account", "role": "a role", "permission": "a permission", "group": "a group",
	"api_key": "a key", "project": "a project", "env_var": "a variable", "app": "an app",
}

// containers are the target types {in} names: what an action happened in.
var containers = []string{"project", "org", "organization", "team", "app", "workspace", "environment"}

// describe tells ev in one sentence, linking into tenant's pages.
func describe(ev *hashtrail.Event) sentence {
	pattern, ok := sentences[ev.Action]
	if !ok {
		pattern, ok = ownSentences[ev.Action]
	}
	if !ok {
		pattern = genericSentence
	}
	d := &describer{ev: ev, used: make([]bool, len(ev.Targets))}
	// Claim the targets the pattern names, so {targets} and {in} list the rest.
	for rest := pattern; ; {
		i := strings.Index(rest, "{t:")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		d.claim(rest[i+3 : i+j])
		rest = rest[i+j:]
	}
	var out sentence
	for pattern != "" {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			out = append(out, piece{Text: pattern})
			break
		}
		if i > 0 {
			out = append(out, piece{Text: pattern[:i]})
		}
		j := strings.IndexByte(pattern[i:], '}')
		out = append(out, d.fill(pattern[i+1:i+j])...)
		pattern = pattern[i+j+1:]
	}
	return out.merge()
}

// merge joins adjacent plain pieces and drops empty ones.
func (s sentence) merge() sentence {
	var out sentence
	for _, p := range s {
		if p.Text == "" {
			continue
		}
		if n := len(out); n > 0 && p.Href == "" && !p.Code && out[n-1].Href == "" && !out[n-1].Code {
			out[n-1].Text += p.Text
			continue
		}
		out = append(out, p)
	}
	return out
}

type describer struct {
	ev      *hashtrail.Event
	used    []bool
	claimed map[string]int // {t:TYPE} -> target index, -1 for none
}

func (d *describer) claim(typ string) {
	if d.claimed == nil {
		d.claimed = map[string]int{}
	}
	if _, ok := d.claimed[typ]; ok {
		return
	}
	d.claimed[typ] = -1
	for i, t := range d.ev.Targets {
		if t.Type == typ && !d.used[i] {
			d.claimed[typ], d.used[i] = i, true
			return
		}
	}
}

func (d *describer) fill(ph string) []piece {
	ev := d.ev
	switch {
	case ph == "actor":
		return []piece{actorPiece(ev)}
	case strings.HasPrefix(ph, "t:"):
		typ := ph[2:]
		if i := d.claimed[typ]; i >= 0 {
			return []piece{targetPiece(ev.Targets[i])}
		}
		if f, ok := fallbacks[typ]; ok {
			return []piece{{Text: f}}
		}
		return []piece{{Text: "a " + strings.ReplaceAll(typ, "_", " ")}}
	case ph == "targets":
		var rest []hashtrail.Target
		for i, t := range ev.Targets {
			if !d.used[i] {
				rest = append(rest, t)
			}
		}
		if len(rest) == 0 {
			return []piece{{Text: "nothing named"}}
		}
		return listPieces(rest)
	case ph == "in":
		for i, t := range ev.Targets {
			if !d.used[i] && isContainer(t.Type) {
				d.used[i] = true
				return []piece{{Text: " in " + strings.ReplaceAll(t.Type, "_", " ") + " "}, targetPiece(t)}
			}
		}
	case ph == "fields":
		var names []string
		for _, c := range ev.Changes {
			names = append(names, c.Field)
		}
		if len(names) > 0 {
			return []piece{{Text: " (" + strings.Join(names, ", ") + ")"}}
		}
	case ph == "from":
		if ev.Context != nil && ev.Context.Location != nil {
			loc := ev.Context.Location
			switch {
			case loc.City != "" && loc.Country != "":
				return []piece{{Text: " from " + loc.City + ", " + loc.Country}}
			case loc.Country != "":
				return []piece{{Text: " from " + loc.Country}}
			}
		}
	case ph == "auth":
		if ev.Actor != nil && ev.Actor.Auth != nil && ev.Actor.Auth.Method != "" {
			return []piece{{Text: " with " + ev.Actor.Auth.Method}}
		}
	case ph == "command":
		cmd := ""
		if ev.Output != nil {
			cmd = ev.Output.Command
		}
		if cmd == "" {
			cmd = metaString(ev.Metadata, "command")
		}
		if cmd == "" {
			return []piece{{Text: "a command"}}
		}
		return []piece{{Text: truncate(cmd, 80), Code: true}}
	case strings.HasPrefix(ph, "meta:"):
		if v := metaString(ev.Metadata, ph[5:]); v != "" {
			return []piece{{Text: " at "}, {Text: truncate(v, 40), Code: true}}
		}
	case ph == "action":
		return []piece{{Text: ev.Action, Code: true}}
	}
	return nil
}

func isContainer(typ string) bool {
	for _, c := range containers {
		if typ == c {
			return true
		}
	}
	return false
}

// listPieces writes targets as "A, B and C".
func listPieces(ts []hashtrail.Target) []piece {
	var out []piece
	for i, t := range ts {
		switch {
		case i == 0:
		case i == len(ts)-1:
			out = append(out, piece{Text: " and "})
		default:
			out = append(out, piece{Text: ", "})
		}
		out = append(out, targetPiece(t))
	}
	return out
}

// actorName is how an actor is called: name, email, id, or its type.
func actorName(a *hashtrail.Actor) string {
	switch {
	case a == nil:
		return "Someone"
	case a.Name != "":
		return a.Name
	case a.Email != "":
		return a.Email
	case a.ID != "" && a.Type == hashtrail.ActorAPIKey:
		return "API key " + a.ID
	case a.ID != "":
		return string(a.Type) + " " + a.ID
	case a.Type == hashtrail.ActorSystem:
		return "The system"
	}
	return "Someone"
}

func actorPiece(ev *hashtrail.Event) piece {
	p := piece{Text: actorName(ev.Actor)}
	if k := ev.ActorKey(); k != "" {
		p.Href = "people/" + url.PathEscape(k)
	}
	return p
}

// targetName is how a target is called: its name, else type and id.
func targetName(t hashtrail.Target) string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}

// targetPiece links a target to its page (a user's to the person page).
func targetPiece(t hashtrail.Target) piece {
	return piece{Text: targetName(t), Href: targetHref(t)}
}

// targetHref is a target's page, relative to the tenant's root.
func targetHref(t hashtrail.Target) string {
	if t.Type == "user" {
		return "people/" + url.PathEscape("user:"+t.ID)
	}
	return "objects/" + url.PathEscape(t.Type) + "/" + url.PathEscape(t.ID)
}

// metaString returns a top-level string (or number) member of metadata.
func metaString(meta json.RawMessage, key string) string {
	if len(meta) == 0 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(meta, &m) != nil {
		return ""
	}
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

// truncate shortens s to at most n characters, with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
