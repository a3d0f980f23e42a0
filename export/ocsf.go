package export

import (
	"encoding/json"
	"io"

	hashtrail "github.com/hashtrail/hashtrail"
)

// OCSFFallback is the class of an action outside the standard catalog
// that its tenant's catalog does not classify: 6003 API Activity, with the
// activity read from the action's verb (create, read, update, delete, else
// 99 Other). A tenant's own actions are operations its application
// performed on behalf of an actor, on objects (the targets) — what API
// Activity describes (actor, api.operation = the action, resources);
// 99 Other would carry no actor or resources at all.
var OCSFFallback = hashtrail.OCSFClass{ClassUID: 6003, ClassName: "API Activity"}

// OCSF writes one OCSF 1.8.0 event per line (JSON Lines), in the class and
// activity the catalog gives the action. See docs/exports.md.
type OCSF struct {
	enc *json.Encoder
	opt Options
}

// NewOCSF returns an OCSF encoder writing to w.
func NewOCSF(w io.Writer, opt Options) *OCSF {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &OCSF{enc: enc, opt: opt}
}

// Begin writes nothing.
func (o *OCSF) Begin() error { return nil }

// Flush does nothing: every event is written as it is encoded.
func (o *OCSF) Flush() error { return nil }

// End writes nothing.
func (o *OCSF) End() error { return nil }

// Encode writes e as an OCSF event.
func (o *OCSF) Encode(e *hashtrail.Event) error { return o.enc.Encode(OCSFEvent(e, o.opt)) }

// OCSFClassOf returns the class and activity e is exported as.
func OCSFClassOf(action string, opt Options) hashtrail.OCSFClass {
	if c, ok := hashtrail.LookupCatalog(action); ok {
		return c.OCSF
	}
	if opt.Classify != nil {
		if c, ok := opt.Classify(action); ok && c.ClassUID != 0 {
			return c
		}
	}
	c := OCSFFallback
	switch verb(action) {
	case "create", "add":
		c.ActivityID, c.ActivityName = 1, "Create"
	case "read", "view", "get", "list":
		c.ActivityID, c.ActivityName = 2, "Read"
	case "update", "change", "edit", "set":
		c.ActivityID, c.ActivityName = 3, "Update"
	case "delete", "remove":
		c.ActivityID, c.ActivityName = 4, "Delete"
	default:
		c.ActivityID, c.ActivityName = 99, "Other"
	}
	return c
}

// ocsfHasEndpoint reports whether a class has src_endpoint and
// http_request: the IAM classes, Web Resources Activity and API Activity.
func ocsfHasEndpoint(classUID int) bool {
	return classUID/1000 == 3 || classUID == 6001 || classUID == 6003
}

// ocsfCategory is the category uid of a class uid.
func ocsfCategory(classUID int) int { return classUID / 1000 }

var ocsfCategoryNames = map[int]string{
	1: "System Activity", 3: "Identity & Access Management", 6: "Application Activity",
}

var ocsfSeverityNames = [...]string{"Unknown", "Informational", "Low", "Medium", "High", "Critical"}

// OCSFEvent maps e to an OCSF event object (JSON-ready maps).
func OCSFEvent(e *hashtrail.Event, opt Options) map[string]any {
	c := OCSFClassOf(e.Action, opt)
	sev := severityRank(e.Severity)
	ev := map[string]any{
		"class_uid":     c.ClassUID,
		"class_name":    c.ClassName,
		"category_uid":  ocsfCategory(c.ClassUID),
		"category_name": ocsfCategoryNames[ocsfCategory(c.ClassUID)],
		"activity_id":   c.ActivityID,
		"activity_name": c.ActivityName,
		"type_uid":      c.ClassUID*100 + c.ActivityID,
		"type_name":     c.ClassName + ": " + c.ActivityName,
		"severity_id":   sev,
		"severity":      ocsfSeverityNames[sev],
		"time":          e.Time.UnixMilli(),
		"metadata": map[string]any{
			"version":         hashtrail.OCSFVersion,
			"uid":             e.ID,
			"product":         map[string]any{"name": "Hashtrail", "vendor_name": "Hashtrail", "version": opt.version()},
			"log_name":        e.Tenant,
			"sequence":        e.Seq,
			"logged_time":     e.ReceivedAt.UnixMilli(),
			"original_time":   e.Time.String(),
			"tenant_uid":      e.Tenant,
			"event_code":      e.Action,
			"correlation_uid": ctxField(e, func(x *hashtrail.Context) string { return x.TraceID }),
			"labels":          nilIfEmpty(e.Tags),
			"log_provider":    "Hashtrail",
			"processed_time":  e.ReceivedAt.UnixMilli(),
		},
	}
	dropEmpty(ev["metadata"].(map[string]any))
	switch e.Outcome {
	case hashtrail.OutcomeSuccess:
		ev["status_id"], ev["status"] = 1, "Success"
	case hashtrail.OutcomeFailure:
		ev["status_id"], ev["status"] = 2, "Failure"
	default:
		ev["status_id"], ev["status"] = 0, "Unknown"
	}
	if e.Error != "" {
		ev["status_detail"] = e.Error
	}
	if d := describe(e); d != "" {
		ev["message"] = d
	}

	// Actor, source and request.
	actor := map[string]any{}
	if a := e.Actor; a != nil {
		actor["user"] = ocsfUser(a.Type, a.ID, a.Name, a.Email)
		if a.Auth != nil && a.Auth.Provider != "" {
			actor["idp"] = map[string]any{"name": a.Auth.Provider}
		}
		if im := a.Impersonator; im != nil {
			actor["invoked_by"] = string(im.Type) + ":" + im.ID
		}
	}
	if s := e.Service; s != nil && s.Name != "" {
		actor["app_name"] = s.Name
	}
	src := map[string]any{}
	if x := e.Context; x != nil {
		if x.IP != "" {
			src["ip"] = x.IP
		}
		if l := x.Location; l != nil && (l.Country != "" || l.Region != "" || l.City != "") {
			loc := map[string]any{"country": l.Country, "region": l.Region, "city": l.City}
			dropEmpty(loc)
			src["location"] = loc
		}
		req := map[string]any{}
		if x.UserAgent != "" {
			req["user_agent"] = x.UserAgent
		}
		if x.Method != "" {
			req["http_method"] = x.Method
		}
		if x.Path != "" {
			req["url"] = map[string]any{"path": x.Path}
		}
		if x.RequestID != "" {
			req["uid"] = x.RequestID
		}
		if len(req) > 0 {
			ev["http_request"] = req
		}
		if x.SessionID != "" {
			actor["session"] = map[string]any{"uid": x.SessionID}
		}
	}
	if len(actor) > 0 {
		ev["actor"] = actor
	}
	if len(src) > 0 {
		ev["src_endpoint"] = src
	}
	unmapped := map[string]any{}
	if !ocsfHasEndpoint(c.ClassUID) { // the class has no source endpoint or request
		for _, k := range []string{"src_endpoint", "http_request"} {
			if v, ok := ev[k]; ok {
				unmapped[k] = v
				delete(ev, k)
			}
		}
	}

	userTarget, firstTarget := -1, -1
	for i, t := range e.Targets {
		if firstTarget < 0 {
			firstTarget = i
		}
		if userTarget < 0 && t.Type == "user" {
			userTarget = i
		}
	}
	targetsMapped := false
	actorUser := func() map[string]any {
		if e.Actor != nil {
			return ocsfUser(e.Actor.Type, e.Actor.ID, e.Actor.Name, e.Actor.Email)
		}
		return map[string]any{"name": "unknown"}
	}
	resources := func() []any {
		out := make([]any, 0, len(e.Targets))
		for _, t := range e.Targets {
			out = append(out, entity(t))
		}
		return out
	}

	switch c.ClassUID {
	case 3001, 3005: // Account Change, User Access Management: the user acted on
		if userTarget >= 0 {
			t := e.Targets[userTarget]
			ev["user"] = ocsfUser(hashtrail.ActorUser, t.ID, t.Name, "")
		} else {
			ev["user"] = actorUser()
		}
		if c.ClassUID == 3005 && len(e.Targets) > 0 {
			ev["resources"] = resources()
			targetsMapped = true
		} else {
			targetsMapped = len(e.Targets) == 0 || (len(e.Targets) == 1 && userTarget == 0)
		}
	case 3002: // Authentication: the user who signs in
		ev["user"] = actorUser()
		if e.Actor != nil && e.Actor.Auth != nil && e.Actor.Auth.MFA != nil {
			ev["is_mfa"] = *e.Actor.Auth.MFA
		}
		if e.Actor != nil && e.Actor.Auth != nil && e.Actor.Auth.Method != "" {
			ev["auth_protocol_id"], ev["auth_protocol"] = 99, e.Actor.Auth.Method
		}
		// The service signed in to: the emitting app, else the tenant.
		svc := map[string]any{"name": e.Tenant}
		if s := e.Service; s != nil && s.Name != "" {
			svc["name"] = s.Name
			if s.Version != "" {
				svc["version"] = s.Version
			}
		}
		ev["service"] = svc
		targetsMapped = len(e.Targets) == 0
	case 3004: // Entity Management
		if firstTarget >= 0 {
			ev["entity"] = managedEntity(e.Targets[firstTarget])
			targetsMapped = len(e.Targets) == 1
		} else {
			ev["entity"] = map[string]any{"name": object(e.Action), "type": object(e.Action)}
		}
	case 3006: // Group Management: the group (or role), and the users
		var group map[string]any
		var users []any
		for _, t := range e.Targets {
			switch {
			case t.Type == "user":
				users = append(users, ocsfUser(hashtrail.ActorUser, t.ID, t.Name, ""))
			case group == nil:
				group = entity(t)
			}
		}
		if group == nil {
			group = map[string]any{"name": object(e.Action), "type": object(e.Action)}
		}
		ev["group"] = group
		if len(users) == 1 {
			ev["user"] = users[0]
		} else if len(users) > 1 {
			ev["users"] = users
		}
		targetsMapped = true
	case 6001: // Web Resources Activity
		if len(e.Targets) > 0 {
			ev["web_resources"] = resources()
		} else {
			ev["web_resources"] = []any{map[string]any{"name": e.Action}}
		}
		targetsMapped = true
	case 6002: // Application Lifecycle
		app := map[string]any{"name": "unknown"}
		if s := e.Service; s != nil && s.Name != "" {
			app = map[string]any{"name": s.Name}
			if s.Version != "" {
				app["version"] = s.Version
			}
		} else if firstTarget >= 0 {
			t := e.Targets[firstTarget]
			app = map[string]any{"uid": t.ID, "name": nonEmpty(t.Name, t.ID)}
		}
		ev["app"] = app
	case 6003: // API Activity
		api := map[string]any{"operation": e.Action}
		if s := e.Service; s != nil && s.Name != "" {
			api["service"] = map[string]any{"name": s.Name}
		}
		ev["api"] = api
		if len(e.Targets) > 0 {
			ev["resources"] = resources()
			targetsMapped = true
		}
	case 1007: // Process Activity
		p := map[string]any{"uid": e.ID}
		if o := e.Output; o != nil {
			p["cmd_line"] = o.Command
			if o.ExitCode != nil {
				ev["exit_code"] = *o.ExitCode
			}
		}
		ev["process"] = p
	}
	if c.ClassUID/1000 == 1 { // System Activity: the device it ran on
		dev := map[string]any{"type_id": 0, "type": "Unknown", "name": "unknown"}
		if s := e.Service; s != nil && s.Host != "" {
			dev["hostname"], dev["name"] = s.Host, s.Host
		}
		ev["device"] = dev
		if c.ClassUID == 1008 {
			ev["log_name"] = e.Tenant
			ev["log_provider"] = "Hashtrail"
		}
	}
	// Classes whose actor or source endpoint is required get a placeholder.
	if c.ClassUID == 6003 || c.ClassUID/1000 == 1 {
		if _, ok := ev["actor"]; !ok {
			ev["actor"] = map[string]any{"app_name": "unknown"}
		}
	}
	if c.ClassUID == 6003 {
		if _, ok := ev["src_endpoint"]; !ok {
			ev["src_endpoint"] = map[string]any{"name": "unknown"}
		}
	}

	// The rest, unmapped.
	if len(e.Targets) > 0 && !targetsMapped {
		unmapped["targets"] = e.Targets
	}
	if len(e.Changes) > 0 {
		unmapped["changes"] = e.Changes
	}
	if len(e.Metadata) > 0 {
		unmapped["metadata"] = e.Metadata
	}
	if e.Reason != "" {
		unmapped["reason"] = e.Reason
	}
	unmapped["category"] = e.Category
	unmapped["severity"] = e.Severity
	if e.LeafHash != "" {
		unmapped["leaf_hash"] = e.LeafHash
	}
	if a := e.Actor; a != nil && len(a.Roles) > 0 {
		unmapped["actor_roles"] = a.Roles
	}
	if s := e.Service; s != nil {
		unmapped["service"] = s
	}
	if x := e.Context; x != nil && x.Source != "" {
		unmapped["source"] = x.Source
	}
	if o := e.Output; o != nil && c.ClassUID != 1007 {
		unmapped["output"] = o
	} else if o != nil && (o.Stdout != "" || o.Stderr != "") {
		unmapped["output"] = map[string]string{"stdout": o.Stdout, "stderr": o.Stderr}
	}
	if len(e.PII) > 0 {
		unmapped["pii"] = e.PII
	}
	ev["unmapped"] = unmapped
	return ev
}

// ocsfUser is an OCSF user object.
func ocsfUser(typ hashtrail.ActorType, id, name, email string) map[string]any {
	u := map[string]any{}
	if id != "" {
		u["uid"] = id
	}
	if name != "" {
		u["name"] = name
	}
	if email != "" {
		u["email_addr"] = email
	}
	if id == "" && name == "" {
		u["name"] = nonEmpty(email, "unknown")
	}
	switch typ {
	case hashtrail.ActorUser:
		u["type_id"], u["type"] = 1, "User"
	case hashtrail.ActorSystem:
		u["type_id"], u["type"] = 3, "System"
	case hashtrail.ActorService:
		u["type_id"], u["type"] = 99, "Service"
	case hashtrail.ActorAPIKey:
		u["type_id"], u["type"] = 99, "API Key"
	}
	return u
}

// entity is a target as an OCSF resource, group or web resource.
func entity(t hashtrail.Target) map[string]any {
	m := map[string]any{"uid": t.ID, "type": t.Type}
	m["name"] = nonEmpty(t.Name, t.ID)
	return m
}

// managedEntity is a target as an OCSF managed entity.
func managedEntity(t hashtrail.Target) map[string]any {
	m := entity(t)
	if t.Type == "user" {
		return map[string]any{"user": ocsfUser(hashtrail.ActorUser, t.ID, t.Name, ""), "type": "User", "uid": t.ID, "name": m["name"]}
	}
	return m
}

func nonEmpty(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}

func nilIfEmpty(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func ctxField(e *hashtrail.Event, f func(*hashtrail.Context) string) string {
	if e.Context == nil {
		return ""
	}
	return f(e.Context)
}

// dropEmpty removes members that are "" or nil.
func dropEmpty(m map[string]any) {
	for k, v := range m {
		if v == nil || v == "" {
			delete(m, k)
		}
	}
}
