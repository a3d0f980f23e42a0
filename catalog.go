package hashtrail

import "strings"

// CatalogVersion is the version of the standard event catalog. It grows
// when entries are added or a default changes; an action, once listed, keeps
// its name.
const CatalogVersion = 2

// OCSFVersion is the OCSF schema version the catalog's classes come from.
const OCSFVersion = "1.8.0"

// CatalogEntry describes one action of the standard event catalog: what it
// means, the defaults an event of it should carry, and the OCSF class and
// activity it becomes on export.
type CatalogEntry struct {
	Action   string   `json:"action"`
	Category Category `json:"category"`
	// Severity and Outcome are what an event of this action usually has;
	// the SDKs' constructors set them. The server fills in only the
	// category (DESIGN §1), unless the tenant's own catalog registers the
	// action with defaults.
	Severity    Severity  `json:"severity"`
	Outcome     Outcome   `json:"outcome"`
	Description string    `json:"description"`
	OCSF        OCSFClass `json:"ocsf"`
}

// OCSFClass names an OCSF event class and activity (schema OCSFVersion).
type OCSFClass struct {
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
}

// The OCSF 1.8.0 classes the catalog maps to. OCSF 1.8 has no class for
// roles: a role is treated as a group of permissions (Group Management),
// and giving one to a principal as User Access Management.
var (
	ocsfAccountChange = OCSFClass{ClassUID: 3001, ClassName: "Account Change"}
	ocsfAuthn         = OCSFClass{ClassUID: 3002, ClassName: "Authentication"}
	ocsfEntity        = OCSFClass{ClassUID: 3004, ClassName: "Entity Management"}
	ocsfUserAccess    = OCSFClass{ClassUID: 3005, ClassName: "User Access Management"}
	ocsfGroup         = OCSFClass{ClassUID: 3006, ClassName: "Group Management"}
	ocsfWebResources  = OCSFClass{ClassUID: 6001, ClassName: "Web Resources Activity"}
	ocsfAppLifecycle  = OCSFClass{ClassUID: 6002, ClassName: "Application Lifecycle"}
	ocsfAPI           = OCSFClass{ClassUID: 6003, ClassName: "API Activity"}
	ocsfProcess       = OCSFClass{ClassUID: 1007, ClassName: "Process Activity"}
	ocsfEventLog      = OCSFClass{ClassUID: 1008, ClassName: "Event Log Activity"}
)

func act(c OCSFClass, id int, name string) OCSFClass {
	c.ActivityID, c.ActivityName = id, name
	return c
}

// entry builds a catalog entry with outcome success.
func entry(action string, cat Category, sev Severity, desc string, ocsf OCSFClass) CatalogEntry {
	return CatalogEntry{Action: action, Category: cat, Severity: sev, Outcome: OutcomeSuccess, Description: desc, OCSF: ocsf}
}

func failed(e CatalogEntry) CatalogEntry { e.Outcome = OutcomeFailure; return e }

// Catalog is the standard event catalog (version CatalogVersion): the
// well-known actions every app records, with their defaults and OCSF
// classes. SDKs offer a constructor for each entry but the reserved ones
// (ReservedAction). Entries are never renamed or removed.
var Catalog = []CatalogEntry{
	// Authentication.
	entry("user.login", CategoryAuthentication, SeverityInfo, "a user signed in", act(ocsfAuthn, 1, "Logon")),
	failed(entry("user.login_failed", CategoryAuthentication, SeverityMedium, "a sign-in attempt failed", act(ocsfAuthn, 1, "Logon"))),
	entry("user.logout", CategoryAuthentication, SeverityInfo, "a user signed out", act(ocsfAuthn, 2, "Logoff")),
	entry("user.mfa_enable", CategoryAuthentication, SeverityLow, "a user turned on two-factor authentication", act(ocsfAccountChange, 10, "MFA Factor Enable")),
	entry("user.mfa_disable", CategoryAuthentication, SeverityMedium, "a user turned off two-factor authentication", act(ocsfAccountChange, 11, "MFA Factor Disable")),
	entry("user.password_change", CategoryAuthentication, SeverityLow, "a user changed their password", act(ocsfAccountChange, 3, "Password Change")),
	entry("user.password_reset", CategoryAuthentication, SeverityMedium, "a user reset their password", act(ocsfAccountChange, 4, "Password Reset")),
	// Accounts.
	entry("user.create", CategoryAccount, SeverityLow, "an account was created", act(ocsfAccountChange, 1, "Create")),
	entry("user.update", CategoryAccount, SeverityInfo, "an account was changed", act(ocsfEntity, 3, "Update")),
	entry("user.delete", CategoryAccount, SeverityMedium, "an account was deleted", act(ocsfAccountChange, 6, "Delete")),
	entry("user.email_change", CategoryAccount, SeverityMedium, "a user changed their email address", act(ocsfEntity, 3, "Update")),
	// Roles, permissions, groups and membership.
	entry("role.create", CategoryAuthorization, SeverityLow, "a role was created", act(ocsfGroup, 6, "Create")),
	entry("role.delete", CategoryAuthorization, SeverityMedium, "a role was deleted", act(ocsfGroup, 5, "Delete")),
	entry("role.assign", CategoryAuthorization, SeverityMedium, "a role was given to a user or group", act(ocsfUserAccess, 3, "Assign Role")),
	entry("role.unassign", CategoryAuthorization, SeverityLow, "a role was taken from a user or group", act(ocsfUserAccess, 4, "Remove Role")),
	entry("role.permission_grant", CategoryAuthorization, SeverityMedium, "a permission was added to a role", act(ocsfGroup, 1, "Assign Privileges")),
	entry("role.permission_revoke", CategoryAuthorization, SeverityLow, "a permission was removed from a role", act(ocsfGroup, 2, "Revoke Privileges")),
	entry("group.create", CategoryAuthorization, SeverityLow, "a group was created", act(ocsfGroup, 6, "Create")),
	entry("group.delete", CategoryAuthorization, SeverityMedium, "a group was deleted", act(ocsfGroup, 5, "Delete")),
	entry("member.add", CategoryAuthorization, SeverityLow, "a user or group was added to a group", act(ocsfGroup, 3, "Add User")),
	entry("member.remove", CategoryAuthorization, SeverityLow, "a user or group was removed from a group", act(ocsfGroup, 4, "Remove User")),
	// API keys.
	entry("api_key.create", CategorySecurity, SeverityMedium, "an API key was created", act(ocsfEntity, 1, "Create")),
	entry("api_key.revoke", CategorySecurity, SeverityLow, "an API key was revoked", act(ocsfEntity, 4, "Delete")),
	entry("api_key.use", CategorySecurity, SeverityInfo, "an API key was used", act(ocsfAuthn, 1, "Logon")),
	// Access requests.
	entry("access.request", CategoryAccess, SeverityInfo, "access was requested", act(ocsfUserAccess, 99, "Other")),
	entry("access.grant", CategoryAccess, SeverityMedium, "access was granted", act(ocsfUserAccess, 1, "Assign Privileges")),
	failed(entry("access.deny", CategoryAccess, SeverityMedium, "access was denied", act(ocsfUserAccess, 99, "Other"))),
	// Resources.
	entry("project.create", CategoryResource, SeverityInfo, "a project was created", act(ocsfAPI, 1, "Create")),
	entry("project.update", CategoryResource, SeverityInfo, "a project was changed", act(ocsfAPI, 3, "Update")),
	entry("project.delete", CategoryResource, SeverityMedium, "a project was deleted", act(ocsfAPI, 4, "Delete")),
	// Configuration.
	entry("app.env_var_add", CategoryConfiguration, SeverityLow, "an environment variable was added", act(ocsfAPI, 1, "Create")),
	entry("app.env_var_change", CategoryConfiguration, SeverityLow, "an environment variable was changed", act(ocsfAPI, 3, "Update")),
	entry("app.env_var_remove", CategoryConfiguration, SeverityLow, "an environment variable was removed", act(ocsfAPI, 4, "Delete")),
	entry("settings.update", CategoryConfiguration, SeverityLow, "settings were changed", act(ocsfAPI, 3, "Update")),
	// Operations.
	entry("app.deploy", CategoryResource, SeverityLow, "an application was deployed", act(ocsfAppLifecycle, 8, "Update")),
	entry("command.run", CategorySystem, SeverityLow, "a command was run", act(ocsfProcess, 1, "Launch")),
	// Data.
	entry("data.export", CategoryData, SeverityMedium, "data was exported", act(ocsfWebResources, 7, "Export")),
	entry("data.read", CategoryData, SeverityInfo, "data was read", act(ocsfWebResources, 2, "Read")),
	// Hashtrail's own announcements (reserved).
	entry("system.subject_erased", CategorySystem, SeverityInfo, "a person's personal data was erased", act(ocsfEventLog, 2, "Delete")),
	entry("system.retention_purge", CategorySystem, SeverityInfo, "events past their retention were purged", act(ocsfEventLog, 2, "Delete")),
}

var catalogIndex = func() map[string]*CatalogEntry {
	m := make(map[string]*CatalogEntry, len(Catalog))
	for i := range Catalog {
		m[Catalog[i].Action] = &Catalog[i]
	}
	return m
}()

// LookupCatalog returns the standard catalog's entry for action.
func LookupCatalog(action string) (CatalogEntry, bool) {
	if e, ok := catalogIndex[action]; ok {
		return *e, true
	}
	return CatalogEntry{}, false
}

// InCatalog reports whether action is in the standard catalog.
func InCatalog(action string) bool { _, ok := catalogIndex[action]; return ok }

// DefaultCategory returns the category for an action that names none: the
// catalog's, else one implied by the object ("user.*" is account), else resource.
func DefaultCategory(action string) Category {
	if e, ok := catalogIndex[action]; ok {
		return e.Category
	}
	obj, _, _ := strings.Cut(action, ".")
	switch obj {
	case "auth", "session", "login", "mfa":
		return CategoryAuthentication
	case "role", "permission", "member", "membership", "group":
		return CategoryAuthorization
	case "user", "account":
		return CategoryAccount
	case "settings", "config":
		return CategoryConfiguration
	case "system":
		return CategorySystem
	}
	return CategoryResource
}
